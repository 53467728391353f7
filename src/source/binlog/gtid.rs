//! GTID positions, as the servers write them: MariaDB's `domain-server-seq` list (one entry per
//! replication domain, `@@gtid_binlog_pos` / `BINLOG_GTID_POS()`), and MySQL's executed GTID set
//! (`uuid:1-5:7-9,…`, `@@gtid_executed`). Stored in the offsets under `"gtids"`, a position names
//! the transactions already read completely, so the stream can resume on any server of the
//! replication topology, whatever its binlog file names.

use std::collections::BTreeMap;
use std::fmt;

/// The transactions completed at a point of the binlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Gtids {
    /// Per replication domain: the last transaction's (server id, sequence number).
    MariaDb(BTreeMap<u32, (u32, u64)>),
    /// Per source (UUID, lowercase): transaction-number intervals `[start, end)`, sorted and
    /// disjoint.
    MySql(BTreeMap<String, Vec<(u64, u64)>>),
}

/// One transaction's GTID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Gtid {
    MariaDb { domain: u32, server: u32, seq: u64 },
    MySql { uuid: String, gno: u64 },
}

impl Gtids {
    /// Parses a MariaDB GTID list or a MySQL GTID set; `None` for an empty or unreadable text.
    pub(super) fn parse(text: &str) -> Option<Gtids> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if text.is_empty() {
            return None;
        }
        if text.contains(':') {
            let mut set = BTreeMap::new();
            for part in text.split(',').filter(|p| !p.is_empty()) {
                let mut pieces = part.split(':');
                let uuid = pieces.next()?.to_ascii_lowercase();
                if uuid.len() != 36 {
                    return None;
                }
                let intervals: &mut Vec<(u64, u64)> = set.entry(uuid).or_default();
                for interval in pieces {
                    let (start, end) = interval.split_once('-').unwrap_or((interval, interval));
                    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
                    if start == 0 || end < start {
                        return None;
                    }
                    add_interval(intervals, start, end + 1);
                }
            }
            Some(Gtids::MySql(set))
        } else {
            let mut domains = BTreeMap::new();
            for part in text.split(',').filter(|p| !p.is_empty()) {
                let mut pieces = part.splitn(3, '-');
                let domain = pieces.next()?.parse().ok()?;
                let server = pieces.next()?.parse().ok()?;
                let seq = pieces.next()?.parse().ok()?;
                domains.insert(domain, (server, seq));
            }
            Some(Gtids::MariaDb(domains))
        }
    }

    /// The position after `gtid`'s transaction.
    pub(super) fn add(state: &mut Option<Gtids>, gtid: &Gtid) {
        match (state.as_mut(), gtid) {
            (
                Some(Gtids::MariaDb(domains)),
                Gtid::MariaDb {
                    domain,
                    server,
                    seq,
                },
            ) => {
                domains.insert(*domain, (*server, *seq));
            }
            (Some(Gtids::MySql(set)), Gtid::MySql { uuid, gno }) => {
                add_interval(set.entry(uuid.clone()).or_default(), *gno, gno + 1);
            }
            // No state yet (GTIDs were off, or the first one): it starts here.
            (
                _,
                Gtid::MariaDb {
                    domain,
                    server,
                    seq,
                },
            ) => *state = Some(Gtids::MariaDb(BTreeMap::from([(*domain, (*server, *seq))]))),
            (_, Gtid::MySql { uuid, gno }) => {
                *state = Some(Gtids::MySql(BTreeMap::from([(
                    uuid.clone(),
                    vec![(*gno, gno + 1)],
                )])));
            }
        }
    }

    /// Whether every transaction `other` names is in this position too (MariaDB: each of its
    /// domains at the same or a later sequence number; MySQL: a subset).
    pub(super) fn contains(&self, other: &Gtids) -> bool {
        match (self, other) {
            (Gtids::MariaDb(mine), Gtids::MariaDb(theirs)) => theirs
                .iter()
                .all(|(domain, (_, seq))| mine.get(domain).is_some_and(|(_, s)| s >= seq)),
            (Gtids::MySql(mine), Gtids::MySql(theirs)) => theirs.iter().all(|(uuid, wanted)| {
                let have = mine.get(uuid).map(Vec::as_slice).unwrap_or_default();
                wanted
                    .iter()
                    .all(|&(s, e)| have.iter().any(|&(hs, he)| hs <= s && e <= he))
            }),
            _ => false,
        }
    }

    /// The set as `mysql_async` sends it in `COM_BINLOG_DUMP_GTID` (MySQL only).
    pub(super) fn mysql_sids(&self) -> Option<Vec<mysql_async::Sid<'static>>> {
        let Gtids::MySql(set) = self else {
            return None;
        };
        set.iter()
            .map(|(uuid, intervals)| {
                let text = std::iter::once(uuid.clone())
                    .chain(intervals.iter().map(|(s, e)| format!("{s}-{}", e - 1)))
                    .collect::<Vec<_>>()
                    .join(":");
                text.parse().ok()
            })
            .collect()
    }
}

/// Adds `[start, end)` to sorted, disjoint intervals, merging neighbours.
fn add_interval(intervals: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    // Common case: the next transaction of the last interval.
    if let Some(last) = intervals.last_mut()
        && last.1 == start
    {
        last.1 = end;
        return;
    }
    intervals.push((start, end));
    intervals.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
    for &(s, e) in intervals.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *intervals = merged;
}

impl fmt::Display for Gtids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtids::MariaDb(domains) => {
                for (i, (domain, (server, seq))) in domains.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{domain}-{server}-{seq}")?;
                }
            }
            Gtids::MySql(set) => {
                for (i, (uuid, intervals)) in set.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{uuid}")?;
                    for (start, end) in intervals {
                        if end - 1 == *start {
                            write!(f, ":{start}")?;
                        } else {
                            write!(f, ":{start}-{}", end - 1)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A transaction's GTID as Debezium's `source.gtid` shows it: MariaDB `domain-server-seq`,
/// MySQL `uuid:gno`.
impl Gtid {
    /// Where the transaction comes from, as `gtid.source.includes` names it: MySQL's server
    /// UUID, MariaDB's `<domain>-<server>`.
    pub(super) fn source(&self) -> String {
        match self {
            Gtid::MariaDb { domain, server, .. } => format!("{domain}-{server}"),
            Gtid::MySql { uuid, .. } => uuid.clone(),
        }
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtid::MariaDb {
                domain,
                server,
                seq,
            } => write!(f, "{domain}-{server}-{seq}"),
            Gtid::MySql { uuid, gno } => write!(f, "{uuid}:{gno}"),
        }
    }
}

/// A MariaDB GTID event's body (event type 0xa2): sequence number u64, domain u32, flags.
pub(super) fn mariadb_gtid(body: &[u8], server: u32) -> Option<Gtid> {
    let seq = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let domain = u32::from_le_bytes(body.get(8..12)?.try_into().ok()?);
    Some(Gtid::MariaDb {
        domain,
        server,
        seq,
    })
}

/// A MySQL UUID in its text form.
pub(super) fn uuid_text(sid: [u8; 16]) -> String {
    let hex = hex::encode(sid);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_positions_round_trip_and_advance() {
        let mut state = Gtids::parse("0-1-100, 2-5-7");
        assert_eq!(state.as_ref().unwrap().to_string(), "0-1-100,2-5-7");
        Gtids::add(
            &mut state,
            &Gtid::MariaDb {
                domain: 0,
                server: 2,
                seq: 101,
            },
        );
        Gtids::add(
            &mut state,
            &Gtid::MariaDb {
                domain: 1,
                server: 1,
                seq: 1,
            },
        );
        assert_eq!(state.unwrap().to_string(), "0-2-101,1-1-1,2-5-7");
        assert_eq!(Gtids::parse(""), None);
        assert_eq!(Gtids::parse("0-1"), None);
    }

    #[test]
    fn mysql_sets_merge_intervals() {
        let a = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let b = "4E11FA47-71CA-11E1-9E33-C80AA9429562";
        let mut state = Gtids::parse(&format!("{a}:1-5:7-9,\n{b}:3"));
        assert_eq!(
            state.as_ref().unwrap().to_string(),
            format!("{a}:1-5:7-9,{}:3", b.to_ascii_lowercase())
        );
        for gno in [6, 10, 12] {
            Gtids::add(
                &mut state,
                &Gtid::MySql {
                    uuid: a.into(),
                    gno,
                },
            );
        }
        assert_eq!(
            state.as_ref().unwrap().to_string(),
            format!("{a}:1-10:12,{}:3", b.to_ascii_lowercase())
        );
        let sids = state.unwrap().mysql_sids().unwrap();
        assert_eq!(sids[0].to_string(), format!("{a}:1-10:12"));
        assert_eq!(sids[0].intervals().len(), 2);
        let mut fresh = None;
        Gtids::add(
            &mut fresh,
            &Gtid::MySql {
                uuid: a.into(),
                gno: 1,
            },
        );
        assert_eq!(fresh.unwrap().to_string(), format!("{a}:1"));
        assert_eq!(Gtids::parse(&format!("{a}:0-3")), None);
    }

    #[test]
    fn event_bodies_and_uuids() {
        let mut body = 42u64.to_le_bytes().to_vec();
        body.extend_from_slice(&3u32.to_le_bytes());
        body.push(1);
        assert_eq!(
            mariadb_gtid(&body, 9),
            Some(Gtid::MariaDb {
                domain: 3,
                server: 9,
                seq: 42
            })
        );
        assert_eq!(mariadb_gtid(&body[..10], 9), None);
        let sid = [
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ];
        assert_eq!(uuid_text(sid), "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    }
}
