use cacher::cached;

#[derive(Clone, Debug)]
struct AppError;

type AppResult<T> = Result<T, AppError>;

// A `Result` by another name: #[cached] cannot see through the alias, and would cache its
// `Err` values as answers. It asks which it is.
#[cached]
fn load(id: u32) -> AppResult<String> {
    Ok(id.to_string())
}

// An alias of any other name, or a `Result` reached through a path of the user's: the compiler
// sees that it is one, and the same question is asked.
type Fallible<T> = Result<T, AppError>;

#[cached]
fn fetch(id: u32) -> Fallible<String> {
    Ok(id.to_string())
}

mod api {
    pub type Answer = Result<u32, String>;
}

#[cached]
fn answer() -> api::Answer {
    Ok(42)
}

// `result = true` says that it is a `Result`: a type that is not one is an error.
#[derive(Clone)]
struct SearchResult {
    hits: u32,
}

#[cached(result = true)]
fn search(query: &str) -> SearchResult {
    SearchResult { hits: query.len() as u32 }
}

#[cached(result = "yes")]
fn parse(text: &str) -> AppResult<u32> {
    text.parse().map_err(|_| AppError)
}

// Said either way, it compiles (see the runtime tests for what each caches).
#[cached(result = true)]
fn load_ok(id: u32) -> AppResult<String> {
    Ok(id.to_string())
}

#[cached(result = false)]
fn load_any(id: u32) -> AppResult<String> {
    Err(AppError).or(Ok(id.to_string()))
}

fn main() {
    let _ = load(1);
    let _ = fetch(1);
    let _ = answer();
    let _ = search("a").hits;
    let _ = parse("1");
    let _ = load_ok(1);
    let _ = load_any(1);
}
