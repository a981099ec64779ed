use cacher::cached;

#[derive(Clone)]
struct Report {
    total: u64,
}

// A file entry is serialised: the error is at the return type.
#[cached(backend = "file")]
fn report(day: u32) -> Report {
    Report {
        total: u64::from(day),
    }
}

// For a Result, at the Ok type.
#[cached(backend = ["memory", "file"])]
fn try_report(day: u32) -> Result<Report, String> {
    Ok(Report {
        total: u64::from(day),
    })
}

// The memory backend stores values as they are: no error.
#[cached]
fn memory_report(day: u32) -> Report {
    Report {
        total: u64::from(day),
    }
}

fn main() {
    let _ = memory_report(1).total;
}
