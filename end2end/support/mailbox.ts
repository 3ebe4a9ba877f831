// A local SMTP server for the browser tests: the portal under test sends its mail here
// (SMTP_URL=smtp://127.0.0.1:2525 in scripts/test.sh), exactly as it would to a real relay, and
// each message is written to a file the tests read, like a person reading their inbox.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const SMTP_PORT = 2525;

/** Decodes a body sent as base64 or quoted-printable; 7bit and 8bit bodies come as they are. */
function decodeBody(headers: string, body: string): string {
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    const bytes = body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body;
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  /** The file's bytes, base64 as sent. */
  base64: string;
}

/** The text a person reads and the files attached: a multipart/mixed message's text part and its
 * attachments, or a single-part message's decoded body. */
function readContent(headers: string, content: string): { body: string; attachments: MailAttachment[] } {
  const boundary = /^content-type:\s*multipart\/[^;]+;[\s\S]*?boundary="?([^";\r\n]+)"?/im.exec(headers)?.[1];
  if (!boundary) return { body: decodeBody(headers, content), attachments: [] };
  let body = "";
  const attachments: MailAttachment[] = [];
  for (const part of content.split(`--${boundary}`).slice(1)) {
    if (part.startsWith("--")) break;
    const split = part.indexOf("\r\n\r\n");
    const partHeaders = part.slice(0, split);
    const partBody = part.slice(split + 4).replace(/\r\n$/, "");
    const filename = /filename="?([^";\r\n]+)"?/i.exec(partHeaders)?.[1];
    if (filename) {
      const contentType = (/^content-type:\s*([^;\r\n]+)/im.exec(partHeaders)?.[1] ?? "").trim();
      attachments.push({ filename, contentType, base64: partBody.replace(/\s+/g, "") });
    } else if (!body) {
      body = decodeBody(partHeaders, partBody);
    }
  }
  return { body, attachments };
}

/** Starts the server; resolves to a function that stops it. Messages go to `dir`. */
export function startMailbox(dir: string): Promise<() => Promise<void>> {
  fs.mkdirSync(dir, { recursive: true });
  let count = 0;
  // The portal keeps pooled SMTP connections open; closing must not wait for them.
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = "";
    let recipients: string[] = [];
    let inData = false;
    socket.setEncoding("latin1");
    socket.write("220 mailbox.test ESMTP\r\n");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const raw = buffer.slice(0, end).replace(/^\.\./gm, ".");
          buffer = buffer.slice(end + 5);
          inData = false;
          const split = raw.indexOf("\r\n\r\n");
          const headers = raw.slice(0, split);
          const { body, attachments } = readContent(headers, raw.slice(split + 4));
          const subject = (/^subject:\s*(.*)$/im.exec(headers)?.[1] ?? "").trim();
          count += 1;
          fs.writeFileSync(
            path.join(dir, `${Date.now()}-${count}.json`),
            JSON.stringify({ to: recipients, subject, body, attachments }),
          );
          recipients = [];
          socket.write("250 queued\r\n");
          continue;
        }
        const newline = buffer.indexOf("\r\n");
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") socket.write("250 mailbox.test\r\n");
        else if (verb === "RCPT") {
          recipients.push((/<([^>]*)>/.exec(line)?.[1] ?? "").toLowerCase());
          socket.write("250 ok\r\n");
        } else if (verb === "DATA") {
          inData = true;
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 bye\r\n");
          return;
        } else socket.write("250 ok\r\n");
      }
    });
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(SMTP_PORT, "127.0.0.1", () =>
      resolve(
        () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      ),
    );
  });
}

export function mailboxDir(): string {
  return process.env.MAILBOX_DIR ?? path.join(os.tmpdir(), "ledgerport-mailbox");
}

/** The newest message to `recipient` (with `subject`, when given), waiting for the portal's mail
 * job (it sends every 5 s). */
export async function latestMessageTo(
  recipient: string,
  timeoutMs = 20_000,
  subject?: string,
): Promise<{ subject: string; body: string; attachments: MailAttachment[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = fs.existsSync(mailboxDir()) ? fs.readdirSync(mailboxDir()).sort() : [];
    for (const file of files.reverse()) {
      const message = JSON.parse(fs.readFileSync(path.join(mailboxDir(), file), "utf8"));
      if (message.to.includes(recipient.toLowerCase()) && (subject === undefined || message.subject === subject)) {
        return message;
      }
    }
    if (Date.now() > deadline) throw new Error(`no message to ${recipient} arrived`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
