//! Stable hashing for names that must map to the same number in every process, version and
//! platform: a connector's slot in its cluster's group, a binlog reader's default server id.

/// 32-bit FNV-1a: stable across processes, versions and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}
