//! Node stores: go-dqlite's `cluster.yaml` format, atomic writes, in-memory copies and
//! concurrent use.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use dqlite_client::{Error, InMemoryNodeStore, NodeInfo, NodeStore, Role, YamlNodeStore};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "dqlite-client-store-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn file(&self, contents: &str) -> PathBuf {
        let path = self.0.join("cluster.yaml");
        fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn node(id: u64, address: &str, role: Role) -> NodeInfo {
    NodeInfo {
        id,
        address: address.into(),
        role: Some(role),
    }
}

/// The nodes a fresh store at `path` loads.
fn reopen(path: &Path) -> Vec<NodeInfo> {
    YamlNodeStore::open(path).unwrap().get().unwrap()
}

/// Parses `text` as a store file.
fn load(text: &str) -> dqlite_client::Result<Vec<NodeInfo>> {
    let dir = TempDir::new();
    YamlNodeStore::open(dir.file(text))?.get()
}

const GO_1_11_5: &str = "\
- Address: 127.0.0.1:9001
  ID: 3297041220608546238
  Role: 0
- Address: 127.0.0.1:9002
  ID: 12345
  Role: 1
";

fn go_nodes() -> Vec<NodeInfo> {
    vec![
        node(3297041220608546238, "127.0.0.1:9001", Role::Voter),
        node(12345, "127.0.0.1:9002", Role::StandBy),
    ]
}

#[test]
fn reads_both_go_key_orders() {
    assert_eq!(load(GO_1_11_5).unwrap(), go_nodes());
    let v3 = "- ID: 3297041220608546238\n  Address: 127.0.0.1:9001\n  Role: 0\n\
              - ID: 12345\n  Address: 127.0.0.1:9002\n  Role: 1\n";
    assert_eq!(load(v3).unwrap(), go_nodes());
}

#[test]
fn reads_empty_stores_and_hand_edits() {
    for empty in ["[]\n", "[]", "", "\n# nothing yet\n", "--- \n[] # none\n"] {
        assert_eq!(load(empty).unwrap(), vec![], "{empty:?}");
    }
    let edited = "\
# seeds
---

-   Role: 2   # spare
    Address: 'host''s.example:9001'
    ID: 7
-
    Address: \"[::1]:9002\"  # IPv6
- Address: \"@abs\\u0074ract\\n\" # escapes
  ID: '18446744073709551615'
  Role: \"1\"
";
    assert_eq!(
        load(edited).unwrap(),
        vec![
            node(7, "host's.example:9001", Role::Spare),
            node(0, "[::1]:9002", Role::Voter),
            node(u64::MAX, "@abstract\n", Role::StandBy),
        ]
    );
    let crlf = "- Address: a:1\r\n  ID: 1\r\n";
    assert_eq!(load(crlf).unwrap(), vec![node(1, "a:1", Role::Voter)]);
}

#[test]
fn bad_input_names_the_line() {
    // `~` stands for a first line `- Address: a:1`.
    let cases = [
        ("~  Id: 1", "line 2: unknown key `Id`"),
        ("~  Role: 3", "line 2: Role must be 0"),
        ("~  ID: -1", "line 2: ID must be"),
        ("~  ID: 012", "line 2: ID must be"),
        ("~  ID: 18446744073709551616", "line 2: ID must be"),
        ("~\n  Address: b:2", "line 3: duplicate key Address"),
        ("- ID: 1\n  Role: 0", "line 1: node has no Address"),
        ("ID: 1", "line 1: expected a list of nodes"),
        ("~   ID: 1", "line 2: key indented by 3 spaces"),
        ("~  - Address: b:2", "line 2: list item indented by 2"),
        ("  - Address: a:1\n~", "line 2: list item indented by 0"),
        ("~\tID: 1", "line 2: tabs cannot indent"),
        ("- Address: \"a:1", "line 1: unterminated double-quoted"),
        ("- Address: 'a:1", "line 1: unterminated single-quoted"),
        ("- Address: \"a\\q\"", "line 1: unknown escape"),
        ("- Address: \"a\" b", "line 1: unexpected `b`"),
        ("[1, 2]", "line 1: only an empty flow list"),
        ("[]\n~", "line 2: unexpected `- Address: a:1`"),
        ("- {Address: a:1}", "line 1: expected `Key: value`"),
        ("- Address: {a: 1}", "line 1: unsupported YAML value"),
        ("- Address:", "line 1: Address has no value"),
        ("- Address: ''", "line 1: Address is empty"),
        ("- Address: a: b", "line 1: unexpected `:`"),
        ("- 127.0.0.1:9001", "line 1: expected `Key: value`"),
    ];
    for (text, want) in cases {
        let text = text.replace('~', "- Address: a:1\n");
        match load(&text) {
            Err(Error::Config(msg)) => assert!(msg.contains(want), "{text:?}: {msg}"),
            other => panic!("{text:?} gave {other:?}"),
        }
    }
    let dir = TempDir::new();
    fs::write(dir.0.join("bad.yaml"), [0xff, 0xfe]).unwrap();
    let err = YamlNodeStore::open(dir.0.join("bad.yaml")).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = YamlNodeStore::open(&dir.0).unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err:?}");
}

/// The file's permission bits.
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn writes_atomically_in_go_format() {
    let dir = TempDir::new();
    let path = dir.0.join("cluster.yaml");
    let store = YamlNodeStore::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(store.get().unwrap(), vec![]);
    assert!(!path.exists(), "a missing file is created by set, not open");

    store.set(&go_nodes()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), GO_1_11_5);
    assert_eq!(store.get().unwrap(), go_nodes());
    assert_eq!(reopen(&path), go_nodes());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    store.set(&[]).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "[]\n");
    assert_eq!(reopen(&path), vec![]);
    let names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["cluster.yaml"],
        "no temporary files are left behind"
    );
}

#[test]
fn replaces_existing_file_with_mode_0600() {
    let dir = TempDir::new();
    let path = dir.file(GO_1_11_5);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = YamlNodeStore::open(&path).unwrap();
    assert_eq!(store.get().unwrap(), go_nodes());
    store.set(&[node(1, "a:1", Role::Spare)]).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "- Address: a:1\n  ID: 1\n  Role: 2\n"
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn quotes_addresses_only_when_needed() {
    let dir = TempDir::new();
    let path = dir.0.join("cluster.yaml");
    let store = YamlNodeStore::open(&path).unwrap();
    let addresses = [
        ("127.0.0.1:9001", "127.0.0.1:9001"),
        ("node-1.example:9001", "node-1.example:9001"),
        ("[::1]:9001", "\"[::1]:9001\""),
        ("@abstract", "\"@abstract\""),
        ("9001", "\"9001\""),
        ("1:2", "\"1:2\""),
        ("true", "\"true\""),
        ("a b #c:1", "\"a b #c:1\""),
        (
            "q\"\\\n\t\u{1}\u{2028}é",
            "\"q\\\"\\\\\\n\\t\\u0001\\u2028é\"",
        ),
    ];
    let nodes: Vec<_> = addresses
        .iter()
        .map(|(a, _)| node(9, a, Role::Voter))
        .collect();
    store.set(&nodes).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    for ((_, written), line) in addresses.iter().zip(text.lines().step_by(3)) {
        assert_eq!(line, format!("- Address: {written}"));
    }
    assert_eq!(reopen(&path), nodes);
}

#[test]
fn missing_role_is_written_and_read_as_voter() {
    let dir = TempDir::new();
    let path = dir.0.join("cluster.yaml");
    let store = YamlNodeStore::open(&path).unwrap();
    let unknown = NodeInfo {
        id: 4,
        address: "a:1".into(),
        role: None,
    };
    store.set(&[unknown]).unwrap();
    assert_eq!(store.get().unwrap(), vec![node(4, "a:1", Role::Voter)]);
    assert_eq!(reopen(&path), store.get().unwrap());
}

#[test]
fn write_failure_is_a_store_error() {
    let dir = TempDir::new();
    let store = YamlNodeStore::open(dir.0.join("missing-dir").join("cluster.yaml")).unwrap();
    let err = store.set(&go_nodes()).unwrap_err();
    assert!(
        matches!(&err, Error::Store { path, .. } if path.contains("missing-dir")),
        "{err}"
    );
    assert_eq!(
        store.get().unwrap(),
        vec![],
        "memory is unchanged after a failed write"
    );
}

#[test]
fn in_memory_store_hands_out_copies() {
    let store = InMemoryNodeStore::new();
    assert_eq!(store.get().unwrap(), vec![]);
    let seeded = InMemoryNodeStore::from_addresses(["a:1", "b:2"]);
    assert_eq!(
        seeded.get().unwrap(),
        vec![node(0, "a:1", Role::Voter), node(0, "b:2", Role::Voter)]
    );
    let owned = InMemoryNodeStore::from_addresses(vec![String::from("c:3")]);
    assert_eq!(owned.get().unwrap().len(), 1);

    let mut nodes = go_nodes();
    store.set(&nodes).unwrap();
    nodes[0].address = "changed:1".into();
    let mut copy = store.get().unwrap();
    assert_eq!(copy, go_nodes());
    copy.clear();
    assert_eq!(store.get().unwrap(), go_nodes());
    let boxed: Box<dyn NodeStore> = Box::new(store);
    assert_eq!(boxed.get().unwrap().len(), 2);
}

/// Writers set distinct lists while readers check they only ever see a whole list.
fn hammer(store: Arc<dyn NodeStore>) -> Vec<Vec<NodeInfo>> {
    let lists: Vec<Vec<NodeInfo>> = (0..4u64)
        .map(|t| {
            (0..=t)
                .map(|i| node(t * 10 + i, &format!("n{t}.example:{i}"), Role::Voter))
                .collect()
        })
        .collect();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (store, lists) = (store.clone(), lists.clone());
            thread::spawn(move || {
                for round in 0..25 {
                    if t % 2 == 0 {
                        store.set(&lists[(t / 2 + round) % lists.len()]).unwrap();
                    } else {
                        let seen = store.get().unwrap();
                        assert!(seen.is_empty() || lists.contains(&seen), "{seen:?}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    lists
}

#[test]
fn concurrent_set_and_get() {
    let lists = hammer(Arc::new(InMemoryNodeStore::new()));
    assert_eq!(lists.len(), 4);

    let dir = TempDir::new();
    let path = dir.0.join("cluster.yaml");
    let store = Arc::new(YamlNodeStore::open(&path).unwrap());
    let lists = hammer(store.clone());
    let last = store.get().unwrap();
    assert!(lists.contains(&last));
    assert_eq!(reopen(&path), last, "file matches memory");
    assert_eq!(
        fs::read_dir(&dir.0).unwrap().count(),
        1,
        "no temporary files are left behind"
    );
}
