//! sprig's url functions.

use ballast_gotemplate::FuncMap;

/// Registers this group's functions.
pub fn register(m: &mut FuncMap) {
    let _ = m;
}
