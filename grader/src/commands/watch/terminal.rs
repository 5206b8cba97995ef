//! The terminal: keys in, the screen out.
//!
//! On a terminal, keys act as they are pressed (raw mode, read with
//! crossterm) and the screen is redrawn in place, fitted to the terminal's
//! size, and drawn again when that size changes. Elsewhere (a pipe, a
//! script) each character of each line read from stdin is a key and each
//! screen is printed after the last.

use super::state::{Event, Key};
use super::view;
use anyhow::Context;
use crossterm::event::{self as term, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, terminal, QueueableCommand};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::Sender;

/// Where keys come from and the screen goes.
pub struct Terminal {
    interactive: bool,
}

impl Terminal {
    /// Raw mode when stdin and stdout are both a terminal; it is switched
    /// off again when the `Terminal` is dropped.
    pub fn open() -> anyhow::Result<Terminal> {
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        if interactive {
            terminal::enable_raw_mode().context("cannot read keys from the terminal")?;
        }
        Ok(Terminal { interactive })
    }

    /// Read keys until `q` (or the input ends), sending each to `events`.
    /// Runs on a thread of its own.
    pub fn read_keys(interactive: bool, events: Sender<Event>) {
        let result = if interactive {
            read_pressed_keys(&events)
        } else {
            read_typed_lines(&events)
        };
        let last = match result {
            Ok(()) => Event::Key(Key::Quit),
            Err(e) => Event::Failed(format!("cannot read the keyboard: {e}")),
        };
        let _ = events.send(last);
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Show `screen`: in place on a terminal, fitted to its size as it is
    /// now; after what came before elsewhere.
    pub fn draw(&self, screen: &str) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if self.interactive {
            // Unknown (0 × 0, as on a terminal that never set it): no limit.
            let (columns, rows) = terminal::size().unwrap_or((0, 0));
            let lines = view::fit(screen, columns.into(), rows.into());
            // Everything goes, also what an earlier size left behind.
            out.queue(terminal::Clear(terminal::ClearType::All))?
                .queue(cursor::MoveTo(0, 0))?;
            // Raw mode: a new line does not return the cursor by itself. No
            // new line after the last: on the bottom row it would scroll.
            out.write_all(lines.join("\r\n").as_bytes())?;
        } else {
            writeln!(out, "{}\n{screen}", "-".repeat(60))?;
        }
        out.flush().context("cannot write to the terminal")
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.interactive {
            let _ = terminal::disable_raw_mode();
            // The shell's prompt starts on a line of its own.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\r\n").and_then(|()| out.flush());
        }
    }
}

fn read_pressed_keys(events: &Sender<Event>) -> std::io::Result<()> {
    loop {
        let key = match term::read()? {
            term::Event::Key(key) => key,
            term::Event::Resize(..) => {
                if events.send(Event::Resized).is_err() {
                    return Ok(());
                }
                continue;
            }
            _ => continue,
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        // Raw mode turns Ctrl-C into a key: it quits, as `q` does.
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        let key = match key.code {
            _ if ctrl_c => Some(Key::Quit),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Key::from_char(c),
            _ => None,
        };
        if let Some(key) = key {
            if events.send(Event::Key(key)).is_err() || key == Key::Quit {
                return Ok(());
            }
        }
    }
}

fn read_typed_lines(events: &Sender<Event>) -> std::io::Result<()> {
    for line in std::io::stdin().lock().lines() {
        for key in line?.chars().filter_map(Key::from_char) {
            if events.send(Event::Key(key)).is_err() || key == Key::Quit {
                return Ok(());
            }
        }
    }
    Ok(())
}
