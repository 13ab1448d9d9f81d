//! Outgoing mail. This build delivers to the dev mailbox: one `.eml` file per
//! message in `<data_dir>/mailbox`, readable by any mail client. The log names
//! the file and the subject, never the body (it holds single-use tokens).

use std::path::PathBuf;

use chrono::Utc;
use kit::Error;

#[derive(Clone)]
pub struct Mailer {
    dir: PathBuf,
    from: String,
}

pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

impl Mailer {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            dir: data_dir.join("mailbox"),
            from: "Marquee <no-reply@marquee.local>".into(),
        }
    }

    pub fn mailbox(&self) -> &std::path::Path {
        &self.dir
    }

    pub async fn send(&self, m: Message<'_>) -> Result<(), Error> {
        let now = Utc::now();
        let id = uuid::Uuid::now_v7();
        let text = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{id}@marquee.local>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            self.from,
            m.to,
            m.subject,
            now.to_rfc2822(),
            m.body.replace('\n', "\r\n"),
        );
        let path = self
            .dir
            .join(format!("{}-{id}.eml", now.format("%Y%m%dT%H%M%S")));
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(Error::internal)?;
        tokio::fs::write(&path, text)
            .await
            .map_err(Error::internal)?;
        tracing::info!(subject = m.subject, file = %path.display(), "mail written to the dev mailbox");
        Ok(())
    }
}
