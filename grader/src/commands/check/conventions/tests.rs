use super::manifests::{parsed, targets};
use super::sources::{named_section, names_command, readme_headings, todo_messages};
use super::*;

/// This course's files, as `grader check` reads them; `None` in a student
/// release, which has no `solutions/` to check.
fn this_course() -> Option<CourseFiles> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("solutions").is_dir() {
        return None;
    }
    let course = Course::load(&root.join("course.yaml")).unwrap();
    Some(read(&course).unwrap())
}

fn exercise(files: &CourseFiles, id: &str) -> ExerciseFiles {
    files.exercises.iter().find(|e| e.id == id).unwrap().clone()
}

/// `text` with `from` replaced by `to`, which must be there.
fn edited(text: &Option<String>, from: &str, to: &str) -> Option<String> {
    let text = text.as_deref().unwrap();
    assert!(text.contains(from), "{from:?} is not in the text");
    Some(text.replacen(from, to, 1))
}

#[test]
fn this_course_follows_every_convention() {
    let Some(files) = this_course() else {
        return;
    };
    assert_eq!(files.exercises.len(), 4);
    for finding in findings(&files) {
        assert_eq!(finding.problems, Vec::<String>::new(), "{}", finding.what);
    }
}

#[test]
fn a_manifest_without_workspace_lints_is_named_with_the_fix() {
    let Some(files) = this_course() else {
        return;
    };
    let ex01 = exercise(&files, "ex01");
    let mut broken = ex01.clone();
    broken.solution_manifest.text = edited(
        &ex01.solution_manifest.text,
        "[lints]\nworkspace = true",
        "",
    );
    assert_eq!(
        lints(&broken),
        [
            "solutions/ex01-serial-map/Cargo.toml: no `[lints] workspace = true`; add it: it is \
          the only thing that makes the workspace's `unsafe_code = \"forbid\"` hold for this crate"
        ]
    );
    broken.manifest.text = edited(
        &ex01.manifest.text,
        "[lints]\nworkspace = true",
        "[lints]\nworkspace = false",
    );
    assert_eq!(lints(&broken).len(), 2);
}

#[test]
fn a_workspace_that_does_not_forbid_unsafe_code_is_named() {
    let Some(files) = this_course() else {
        return;
    };
    let mut course = files.workspaces[0].clone();
    assert_eq!(forbids_unsafe(&course), None);
    course.text = edited(
        &course.text,
        "unsafe_code = \"forbid\"",
        "unsafe_code = \"deny\"",
    );
    let problem = forbids_unsafe(&course).unwrap();
    assert!(
        problem.starts_with("Cargo.toml: `[workspace.lints.rust]` does not set"),
        "{problem}"
    );
    let table = File {
        path: "solutions/Cargo.toml".into(),
        text: Some("[workspace.lints.rust]\nunsafe_code = { level = \"forbid\" }\n".into()),
    };
    assert_eq!(forbids_unsafe(&table), None);
}

#[test]
fn a_missing_or_unparsable_manifest_is_said_once() {
    let Some(files) = this_course() else {
        return;
    };
    let mut ex02 = exercise(&files, "ex02");
    ex02.solution_manifest.text = None;
    ex02.manifest.text = Some("[package\nname = 1".into());
    let problems = lints(&ex02);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("exercises/ex02-threaded-query/Cargo.toml: not valid TOML: "));
    assert_eq!(
        problems[1],
        "solutions/ex02-threaded-query/Cargo.toml: missing; it is the reference solution's package"
    );
    // The other groups do not repeat it.
    assert!(runs_the_exercise_files(&ex02).is_empty());
    assert!(support_programs(&ex02).is_empty());
}

#[test]
fn a_solution_that_runs_a_copy_of_the_tests_is_told_the_exercise_path() {
    let Some(files) = this_course() else {
        return;
    };
    let ex02 = exercise(&files, "ex02");
    let mut broken = ex02.clone();
    broken.solution_manifest.text = edited(
        &ex02.solution_manifest.text,
        "../../exercises/ex02-threaded-query/tests/ex02.rs",
        "tests/ex02.rs",
    );
    assert_eq!(
        runs_the_exercise_files(&broken),
        [
            "solutions/ex02-threaded-query/Cargo.toml: `[[test]]` `ex02` runs \"tests/ex02.rs\"; \
          set `path = \"../../exercises/ex02-threaded-query/tests/ex02.rs\"`: one copy of every \
          test and harness, the exercise's"
        ]
    );
    broken.solution_manifest.text = edited(
        &ex02.solution_manifest.text,
        "path = \"../../exercises/ex02-threaded-query/benches/observe.rs\"\nharness = false\n",
        "",
    );
    let problems = runs_the_exercise_files(&broken);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("lacks `harness = false`"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("runs cargo's default file; set `path = \"../../exercises/ex02-threaded-query/benches/observe.rs\"`"),
        "{problems:#?}"
    );
}

#[test]
fn a_solution_without_the_test_target_is_told_to_add_it() {
    let Some(files) = this_course() else {
        return;
    };
    let ex01 = exercise(&files, "ex01");
    let mut broken = ex01.clone();
    broken.solution_manifest.text = edited(
        &ex01.solution_manifest.text,
        "[[test]]\nname = \"ex01\"\npath = \"../../exercises/ex01-serial-map/tests/ex01.rs\"\n",
        "",
    );
    assert_eq!(
        runs_the_exercise_files(&broken),
        [
            "solutions/ex01-serial-map/Cargo.toml: no `[[test]] name = \"ex01\"`; add it with \
          `path = \"../../exercises/ex01-serial-map/tests/ex01.rs\"`, so the solution passes the \
          exercise's own tests"
        ]
    );
    broken.manifest.text = edited(&ex01.manifest.text, "[[bench]]\nname = \"observe\"", "");
    let problems = runs_the_exercise_files(&broken);
    assert!(
        problems[0]
            .starts_with("exercises/ex01-serial-map/Cargo.toml: no `[[bench]] name = \"observe\"`"),
        "{problems:#?}"
    );
}

#[test]
fn a_test_support_program_missing_from_either_manifest_is_named_with_its_declaration() {
    let Some(files) = this_course() else {
        return;
    };
    let ex03 = exercise(&files, "ex03");
    let declaration = "[[bin]]\nname = \"misbehaving-worker\"\n";
    let mut no_solution_bin = ex03.clone();
    no_solution_bin.solution_manifest.text = edited(
        &ex03.solution_manifest.text,
        declaration,
        "[[example]]\nname = \"x\"\n",
    );
    assert_eq!(
        support_programs(&no_solution_bin),
        ["solutions/ex03-process-crunch/Cargo.toml: no `[[bin]] name = \"misbehaving-worker\"`; \
          add it with `path = \"../../exercises/ex03-process-crunch/tests/support/misbehaving-worker.rs\"` \
          and `test = false`: the exercise's tests run it, so the solution's must find it"]
    );
    let mut no_exercise_bin = ex03.clone();
    no_exercise_bin.manifest.text = edited(
        &ex03.manifest.text,
        declaration,
        "[[example]]\nname = \"x\"\n",
    );
    assert_eq!(
        support_programs(&no_exercise_bin),
        ["exercises/ex03-process-crunch/Cargo.toml: no `[[bin]] name = \"misbehaving-worker\"`, \
          which solutions/ex03-process-crunch/Cargo.toml builds from the exercise's \
          tests/support/misbehaving-worker.rs; add it with `path = \
          \"tests/support/misbehaving-worker.rs\"` and `test = false`, so students' tests find it too"]
    );
}

#[test]
fn a_test_support_program_at_another_file_or_built_as_a_test_is_named() {
    let Some(files) = this_course() else {
        return;
    };
    let ex03 = exercise(&files, "ex03");
    let mut copied = ex03.clone();
    copied.solution_manifest.text = edited(
        &ex03.solution_manifest.text,
        "../../exercises/ex03-process-crunch/tests/support/misbehaving-worker.rs",
        "src/bin/misbehaving-worker.rs",
    );
    let problems = support_programs(&copied);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("solutions/ex03-process-crunch/Cargo.toml: `[[bin]]` `misbehaving-worker` runs \"src/bin/misbehaving-worker.rs\"; set `path = \"../../exercises/ex03-process-crunch/tests/support/misbehaving-worker.rs\"`"),
        "{problems:#?}"
    );
    let mut tested = ex03.clone();
    tested.manifest.text = edited(
        &ex03.manifest.text,
        "tests/support/misbehaving-worker.rs\"\ntest = false",
        "tests/support/misbehaving-worker.rs\"",
    );
    assert_eq!(
        support_programs(&tested),
        [
            "exercises/ex03-process-crunch/Cargo.toml: `[[bin]]` `misbehaving-worker` is a \
          test-support program; add `test = false`, so `cargo test` does not build it as a test \
          of its own"
        ]
    );
}

#[test]
fn the_students_own_programs_and_given_programs_are_no_test_support() {
    // ex03's crunch-worker (src/bin) is the student's; ex04's solution runs
    // the given src/main.rs.
    let Some(files) = this_course() else {
        return;
    };
    for id in ["ex03", "ex04"] {
        let ex = exercise(&files, id);
        assert!(!targets(&parsed(&ex.solution_manifest).unwrap(), "bin").is_empty());
        assert_eq!(support_programs(&ex), Vec::<String>::new(), "{id}");
    }
}

#[test]
fn starts_processes_must_agree_with_the_reference_solution() {
    let Some(files) = this_course() else {
        return;
    };
    let mut ex03 = exercise(&files, "ex03");
    ex03.starts_processes = false;
    let problems = starts_processes(&ex03);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("ex03: the reference solution starts processes (solutions/ex03-process-crunch/src/lib.rs:"),
        "{problems:#?}"
    );
    assert!(
        problems[0].contains("add it, or the scan flags"),
        "{problems:#?}"
    );
    let mut ex02 = exercise(&files, "ex02");
    ex02.starts_processes = true;
    assert_eq!(
        starts_processes(&ex02),
        ["ex02: course.yaml says `starts_processes: true`, but the reference solution starts no \
          process (no std::process::Command in its src/ or the given files); remove it, so the \
          scan flags Command in students' code of ex02"]
    );
}

#[test]
fn a_given_file_that_starts_processes_counts_as_the_solutions() {
    // ex04's solution reaches the given pool (src/workers.rs) by #[path].
    let Some(files) = this_course() else {
        return;
    };
    let ex04 = exercise(&files, "ex04");
    assert!(ex04.starts_processes);
    let without_given: Vec<Source> = ex04
        .solution
        .iter()
        .filter(|s| s.path.starts_with("solutions/"))
        .cloned()
        .collect();
    assert_eq!(starts_processes(&ex04), Vec::<String>::new());
    let solution_only = ExerciseFiles {
        solution: without_given,
        ..ex04
    };
    assert_eq!(starts_processes(&solution_only).len(), 1);
}

#[test]
fn a_todo_naming_a_missing_section_or_none_is_named_with_the_fix() {
    let Some(files) = this_course() else {
        return;
    };
    let ex02 = exercise(&files, "ex02");
    let lib = ex02
        .stubs
        .iter()
        .position(|s| s.path.ends_with("src/lib.rs"))
        .unwrap();
    let mut broken = ex02.clone();
    broken.stubs[lib].text = ex02.stubs[lib]
        .text
        .replace("section \\\"Waiting in line\\\"", "section \\\"Waiting\\\"");
    let problems = todos(&broken);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].ends_with(": todo!() names section \"Waiting\", which exercises/ex02-threaded-query/README.md does not have; name one of its headings, or add that heading"),
        "{problems:#?}"
    );
    assert!(
        problems[0].starts_with("exercises/ex02-threaded-query/src/lib.rs:"),
        "{problems:#?}"
    );
    broken.stubs[lib].text = ex02.stubs[lib].text.replacen(
        "todo!(\"ex02 serial_queries: see README.md, section \\\"Waiting in line\\\"\")",
        "todo!()",
        1,
    );
    let problems = todos(&broken);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].ends_with("a todo!() that names no section; write `todo!(\"ex02 <function>: see README.md, section \\\"<heading>\\\"\")` with the heading of README.md that teaches it"),
        "{problems:#?}"
    );
}

#[test]
fn todo_messages_are_read_as_tokens() {
    let text = r##"
        //! A comment's todo!("x") is no call.
        fn a() { todo!("ex09 a: see README.md, section \"One \\ two\"") }
        fn b() { let f = || { todo!(r#"raw "quoted""#) }; }
        fn c() { todo!() }
    "##;
    assert_eq!(
        todo_messages(text),
        [
            (
                3,
                Some("ex09 a: see README.md, section \"One \\ two\"".to_owned())
            ),
            (4, Some("raw \"quoted\"".to_owned())),
            (5, None),
        ]
    );
    assert_eq!(
        named_section("ex09 a: see README.md, section \"One\"", "ex09"),
        Some("One")
    );
    assert_eq!(
        named_section("ex09 a: see README.md, section \"One\"", "ex10"),
        None
    );
    assert_eq!(
        named_section("ex09: see README.md, section \"One\"", "ex09"),
        None
    );
    assert_eq!(named_section("ex09 a: read the README", "ex09"), None);
}

#[test]
fn readme_headings_skip_code_blocks() {
    let readme = "# Title\n\ntext\n## 1. Counting down ##\n```sh\n# not a heading\n```\n#hashtag\n### Deep\n";
    assert_eq!(
        readme_headings(readme),
        ["Title", "1. Counting down", "Deep"]
    );
}

#[test]
fn a_command_is_a_name_not_a_word_in_a_comment_or_string() {
    let text = "// a Command in a comment\nconst S: &str = \"Command\";\nfn f() {\n    { let c = std::process::Command::new(\"w\"); }\n}\n";
    assert_eq!(names_command(text), Some(4));
    assert_eq!(
        names_command("use std::os::unix::process::CommandExt;"),
        Some(1)
    );
    assert_eq!(names_command("// Command\nfn f() {}"), None);
}
