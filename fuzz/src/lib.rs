//! The invariants of the fuzz targets, in one module the stable replay test
//! includes too.

pub mod checks;
