//! Left by the attacker of session 11: an async function whose `key = …` names a `&mut`
//! parameter (or `&mut self`) did not compile — rustc's E0505, "cannot move out of `conn`
//! because it is borrowed", at the attribute: the body (an `async move` block) takes the
//! reference whole while the key borrowed through it for the lookup. The synchronous function
//! compiled. The key is now made owned first (`.to_owned()` of the expression, or of each element
//! of a tuple), and keys as the borrowed form does.

use cacher::cached;

struct Conn {
    id: u32,
    name: String,
    uses: u32,
}

impl Conn {
    fn new(id: u32, name: &str) -> Self {
        Conn {
            id,
            name: name.to_owned(),
            uses: 0,
        }
    }

    #[cached(key = self.id)]
    async fn by_self(&mut self, n: u32) -> u32 {
        self.uses += 1;
        self.id * 100 + n
    }
}

#[cached(key = conn.id)]
async fn by_field(conn: &mut Conn, n: u32) -> u32 {
    conn.uses += 1;
    conn.id * 100 + n
}

#[cached(key = (conn.name.as_str(), n))]
async fn by_name(conn: &mut Conn, n: u32) -> String {
    conn.uses += 1;
    format!("{}:{n}", conn.name)
}

#[cached(key = conn.name.as_str(), key_type = "String")]
async fn typed(conn: &mut Conn) -> usize {
    conn.uses += 1;
    conn.name.len()
}

#[tokio::test]
async fn an_async_function_keyed_through_a_mut_parameter_compiles_and_keys_by_the_value() {
    let (mut one, mut two) = (Conn::new(1, "one"), Conn::new(2, "two"));
    // Keyed by the id alone: `n` is not part of the key.
    assert_eq!(by_field(&mut one, 5).await, 105);
    assert_eq!(by_field(&mut one, 6).await, 105);
    assert_eq!(by_field(&mut two, 5).await, 205);
    assert_eq!(
        (one.uses, two.uses),
        (1, 1),
        "the second call of `one` was a hit"
    );

    assert_eq!(by_name(&mut one, 1).await, "one:1");
    assert_eq!(by_name(&mut one, 1).await, "one:1");
    assert_eq!(by_name(&mut one, 2).await, "one:2");
    assert_eq!(one.uses, 3);
    // The owned key is the borrowed form's: the plain store finds it by `(&str, u32)`.
    assert_eq!(
        by_name_cache().get(&("one", 2u32)).as_deref(),
        Some("one:2")
    );

    assert_eq!(typed(&mut two).await, 3);
    assert_eq!(typed(&mut two).await, 3);
    assert_eq!(two.uses, 2);
    assert_eq!(typed_cache().get("two"), Some(3));
}

#[tokio::test]
async fn an_async_method_keyed_through_mut_self_compiles_and_keys_by_the_value() {
    let (mut one, mut two) = (Conn::new(1, "one"), Conn::new(2, "two"));
    assert_eq!(one.by_self(1).await, 101);
    assert_eq!(one.by_self(2).await, 101);
    assert_eq!(two.by_self(1).await, 201);
    assert_eq!((one.uses, two.uses), (1, 1));
}
