//! Per-call control and keys: `refresh`, `bypass`, `lookup` (the origin of a value) around an
//! ordinary call; `remove`, `insert`, `peek` with the arguments as a borrowed tuple; floats as
//! keys. `calls` steers `#[cached]` functions, `keys` the plain-store API.

mod calls;
mod key_expr;
mod keys;
