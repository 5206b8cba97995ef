use super::*;
use crate::sandbox::isolation::Isolation;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// The uid box, when these tests run as root (else there is none to
/// test: the grader without root has no uid box).
fn uid_box() -> Option<(UidBox, Isolation)> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: the uid box needs root, nothing to test");
        return None;
    }
    let isolation = Isolation::uid_box().expect("root has the uid box");
    Some((shared().unwrap(), isolation))
}

fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn view(target: &Path) -> Visibility {
    Visibility {
        readable: Vec::new(),
        target_dir: target.to_path_buf(),
    }
}

/// `script` run by `bash` as student code; its output, both streams.
fn run(
    uid_box: &UidBox,
    script: &str,
    view: &Visibility,
    writable: &[PathBuf],
) -> sandbox::RunOutput {
    let mut command = Command::new("bash");
    command.args(["-c", script]).current_dir("/");
    let mut confined = uid_box.confine(&command, view, Activity::Run { writable });
    sandbox::run_confined(&mut confined, None, Duration::from_secs(60), 64 * 1024).unwrap()
}

fn course_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_run_has_a_user_of_its_own_that_owns_nothing_of_the_grader() {
    let Some((uid_box, _)) = uid_box() else {
        return;
    };
    let target = open_dir();
    let view = view(target.path());
    let script = "id -u; id -g; id -G; kill -0 $PPID 2>/dev/null && echo SIGNALLED; \
        kill -0 1 2>/dev/null && echo SIGNALLED-INIT; echo done";
    let runs: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&uid_box, script, &view, &[]).stdout.text()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut uids = Vec::new();
    for text in &runs {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let uid: u32 = lines[0].parse().unwrap();
        assert!((FIRST_ID..FIRST_ID + ID_SPAN).contains(&uid), "{text}");
        assert_ne!(uid, uid_box.inner.build.id);
        assert_eq!(lines[1], lines[0], "its gid is its own: {text}");
        assert_eq!(lines[2], lines[0], "and it has no other group: {text}");
        assert_eq!(lines[3], "done", "{text}");
        assert!(!is_known(uid));
        uids.push(uid);
    }
    assert_ne!(uids[0], uids[1], "two runs at once share no user");
}

#[test]
fn a_run_is_limited() {
    let Some((uid_box, _)) = uid_box() else {
        return;
    };
    let target = open_dir();
    let script = "ulimit -u; ulimit -f; ulimit -t; ulimit -v; ulimit -c; \
        grep NoNewPrivs /proc/self/status | tr -d '\\t'";
    let text = run(&uid_box, script, &view(target.path()), &[])
        .stdout
        .text();
    // bash counts -f in 1024-byte blocks, -v in KiB.
    assert_eq!(text, "512\n262144\n1200\n8388608\n0\nNoNewPrivs:1\n");
}

#[test]
fn nothing_of_a_run_is_left_when_it_ends() {
    let Some((uid_box, _)) = uid_box() else {
        return;
    };
    let target = open_dir();
    let marker = format!("{}", 760_000 + std::process::id() % 10_000);
    // A new session, a double fork, and a file in the shared /tmp
    // (where Landlock lets it write at all).
    let script = format!(
        "setsid -f sleep {marker}; (sleep {marker} &) & \
         touch /tmp/left-{marker} 2>/dev/null; id -u"
    );
    let output = run(&uid_box, &script, &view(target.path()), &[]);
    let uid: u32 = output.stdout.text().trim().parse().unwrap();
    assert_eq!(processes_of(uid).running, 0);
    assert!(!Path::new(&format!("/tmp/left-{marker}")).exists());
}

#[test]
fn a_run_that_fills_its_directories_is_killed() {
    let Some((uid_box, _)) = uid_box() else {
        return;
    };
    let target = open_dir();
    // 64 MiB files until the disk is full or the run is killed.
    let script = "for i in $(seq 100); do head -c 67108864 /dev/zero > $TMPDIR/f$i || exit 3; done; echo survived";
    let output = run(&uid_box, script, &view(target.path()), &[]);
    assert!(!output.success(), "{output:?}");
    assert_eq!(
        output.describe_end(Duration::from_secs(60)),
        "killed by signal 9"
    );
}

#[test]
fn landlock_keeps_a_run_to_its_view_and_off_tcp() {
    let Some((uid_box, _)) = uid_box() else {
        return;
    };
    if uid_box.inner.landlock < Landlock::FilesAndTcp {
        eprintln!(
            "Landlock here: {:?}; nothing to test",
            uid_box.inner.landlock
        );
        return;
    }
    let target = open_dir();
    let readable = open_dir();
    fs::write(readable.path().join("open"), "to everyone\n").unwrap();
    let script = format!(
        "cat {}/open 2>&1 | grep -o 'Permission denied'; \
         touch /tmp/x 2>&1 | grep -o 'Permission denied'; \
         (exec 3<>/dev/tcp/127.0.0.1/9) 2>&1 | grep -o 'Permission denied' | head -n 1; \
         cat /etc/hostname >/dev/null && echo system",
        readable.path().display()
    );
    let text = run(&uid_box, &script, &view(target.path()), &[])
        .stdout
        .text();
    assert_eq!(
        text,
        "Permission denied\nPermission denied\nPermission denied\nsystem\n"
    );
}

#[test]
fn the_build_directory_is_the_build_users_while_handed_over() {
    let Some((uid_box, isolation)) = uid_box() else {
        return;
    };
    let target = open_dir();
    fs::create_dir(target.path().join("debug")).unwrap();
    let copy = open_dir();
    let student_file = copy.path().join("lib.rs");
    fs::write(&student_file, "pub fn f() {}\n").unwrap();
    fs::set_permissions(&student_file, fs::Permissions::from_mode(0o666)).unwrap();
    let view = Visibility {
        readable: vec![copy.path().to_path_buf()],
        target_dir: target.path().to_path_buf(),
    };
    let handed = isolation
        .hand_over(&course_root(), &view, Some(copy.path()))
        .unwrap();
    let owner = |path: &Path| fs::metadata(path).unwrap().uid();
    let build = uid_box.inner.build.id;
    assert_eq!(owner(&target.path().join("debug")), build);
    assert_eq!(fs::metadata(&student_file).unwrap().mode() & 0o777, 0o644);
    let second = isolation.hand_over(&course_root(), &view, None).unwrap();
    drop(handed);
    assert_eq!(owner(target.path()), build, "still handed over once");
    drop(second);
    assert_eq!(owner(&target.path().join("debug")), 0);
    assert_eq!(owner(target.path()), 0);
}

#[test]
fn a_closed_directory_on_the_way_is_named() {
    let closed = tempfile::tempdir().unwrap();
    fs::set_permissions(closed.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let inside = closed.path().join("course/target");
    let error = check_reachable(&inside).unwrap_err().to_string();
    assert!(
        error.contains(&format!(
            "{} is closed to other users (mode 700)",
            closed.path().display()
        )),
        "{error}"
    );
    assert!(check_reachable(Path::new("/usr/bin")).is_ok());
}
