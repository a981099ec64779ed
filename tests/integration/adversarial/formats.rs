//! (filled by the issue 9 work)
