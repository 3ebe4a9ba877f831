//! A fake SMTP server on 127.0.0.1 for the mail adapter: speaks enough SMTP for lettre (greeting,
//! EHLO, MAIL, RCPT, DATA, QUIT), records every message it accepts, and can refuse recipients.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message: the envelope recipient and the raw message text.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub data: String,
}

pub struct FakeSmtp {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeSmtp {
    /// `refuse_recipients`: answer every RCPT with 550, as a server does for a bad mailbox.
    pub async fn start(refuse_recipients: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(stream, store, refuse_recipients).await;
                });
            }
        });
        FakeSmtp { addr, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    refuse: bool,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 fake.example ESMTP\r\n").await?;
    let mut to = String::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-fake.example\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM") {
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            to = line[8..].trim().trim_matches(['<', '>']).to_string();
            if refuse {
                b"550 No such mailbox\r\n"
            } else {
                b"250 OK\r\n"
            }
        } else if command == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            while let Some(body_line) = lines.next_line().await? {
                if body_line == "." {
                    break;
                }
                data.push_str(&body_line);
                data.push('\n');
            }
            store.lock().expect("lock").push(Received {
                to: to.clone(),
                data,
            });
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
