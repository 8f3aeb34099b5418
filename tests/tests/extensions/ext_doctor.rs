//! `cback doctor` for the mbox and subversion sections: the programs they run through their
//! `<override>`, the mailboxes and repositories present and readable.

use std::fs;

use cback_tests::ext::{Declared, ExtensionRunDir};

const MBOX: Declared = Declared::new("mbox", "CedarBackup3.extend.mbox", 99);
const MYSQL: Declared = Declared::new("mysql", "CedarBackup3.extend.mysql", 99);
const SUBVERSION: Declared = Declared::new("subversion", "CedarBackup3.extend.subversion", 99);

fn doctor(site: &ExtensionRunDir) -> (Option<i32>, String) {
    let out = site.cback(&["doctor"]).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn doctor_names_missing_mailboxes_and_repositories_and_programs() {
    let site = ExtensionRunDir::new(crate::BIN);
    let mailbox = site.path("inbox");
    fs::write(&mailbox, b"From someone\n").unwrap();
    let gone = site.path("no-mail");
    let sh = std::path::Path::new("/bin/sh");
    let missing_tool = site.path("bin/no-svnlook");
    site.config(
        &[MBOX, MYSQL, SUBVERSION],
        "monday",
        &[
            ("grepmail", sh),
            ("svnadmin", sh),
            ("svnlook", &missing_tool),
            ("mysqldump", &missing_tool),
            ("mysql", sh),
        ],
        &format!(
            "<mysql><compress_mode>none</compress_mode><all>Y</all></mysql>\
             <mbox><collect_mode>daily</collect_mode><compress_mode>none</compress_mode>\
             <file><abs_path>{}</abs_path></file><dir><abs_path>{}</abs_path></dir></mbox>\
             <subversion><collect_mode>daily</collect_mode><compress_mode>none</compress_mode>\
             <repository><abs_path>{}</abs_path></repository></subversion>",
            mailbox.display(),
            gone.display(),
            site.path("no-repo").display()
        ),
    );
    let (code, stdout) = doctor(&site);
    assert_eq!(code, Some(6), "{stdout}");
    for line in [
        "PASS mbox program /bin/sh: found".to_string(),
        format!(
            "PASS mbox file {}: file present and readable",
            mailbox.display()
        ),
        format!("FAIL mbox directory {}: does not exist", gone.display()),
        "PASS subversion program /bin/sh: found".to_string(),
        format!(
            "FAIL subversion program {}: not found",
            missing_tool.display()
        ),
        format!("FAIL mysql program {}: not found", missing_tool.display()),
        "PASS mysql program /bin/sh: found".to_string(),
        format!(
            "FAIL subversion repository {}: does not exist",
            site.path("no-repo").display()
        ),
    ] {
        assert!(stdout.contains(&line), "{line}\n{stdout}");
    }
}
