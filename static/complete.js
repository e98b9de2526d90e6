// Completion of people (progressive enhancement: without it, names and addresses are typed).
// - "@" in a note offers the meeting's attendees (listed on the page) and then your people
//   (/people/suggest, ten at most); picking one writes a mention the note grammar resolves to
//   exactly that person.
// - An assignee field (input[data-people]) offers your people in its <datalist> as you type.

const found = new Map();

/** Up to ten of the user's people whose name or address contains `text`. */
async function suggest(text) {
  if (!found.has(text)) {
    found.set(text, fetch(`/people/suggest?q=${encodeURIComponent(text)}`, {
      credentials: "same-origin", headers: { accept: "application/json" },
    }).then((r) => (r.ok ? r.json() : [])).catch(() => []));
  }
  return found.get(text);
}

function say(message) {
  const region = document.getElementById("announce");
  if (region) region.textContent = message;
}

const firstName = (person) => (person.name.trim().split(/\s+/)[0] || "").toLowerCase();

/**
 * The mention to write for `person`: an attendee's first name when no other attendee shares it
 * (the grammar looks among attendees first), else the address, which always matches one person.
 */
function handleFor(person, attendees) {
  const first = firstName(person);
  if (person.attendee && /^[\p{L}\p{N}][\p{L}\p{N}_+-]*$/u.test(first)
      && attendees.filter((a) => firstName(a) === first).length === 1) {
    return first;
  }
  return person.email || person.name.replace(/\s+/g, "").toLowerCase();
}

function mentionCompletion(area) {
  const list = document.createElement("ul");
  list.id = "mention-list";
  list.className = "mention-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "People to mention");
  list.hidden = true;
  area.after(list);
  area.setAttribute("aria-autocomplete", "list");
  area.setAttribute("aria-controls", list.id);
  let options = [];
  let active = -1;
  let mention = null;
  let asked = 0;

  const attendees = () => Array.from(document.querySelectorAll(".attendees li[data-email]"))
    .map((li) => ({ name: li.dataset.name, email: li.dataset.email, attendee: true }));

  // The "@…" being typed just before the caret, if any: where it starts and what follows "@".
  function mentionAtCaret() {
    if (area.selectionStart !== area.selectionEnd) return null;
    const before = area.value.slice(0, area.selectionStart);
    const match = /(?:^|[^\p{L}\p{N}_.+@-])@([\p{L}\p{N}_.+-]{0,40})$/u.exec(before);
    return match ? { start: before.length - match[1].length - 1, text: match[1].toLowerCase() } : null;
  }

  function close() {
    list.hidden = true;
    options = [];
    active = -1;
    area.removeAttribute("aria-activedescendant");
    area.setAttribute("aria-expanded", "false");
  }

  function highlight(i) {
    active = i;
    list.querySelectorAll("li").forEach((li, n) => li.setAttribute("aria-selected", String(n === i)));
    area.setAttribute("aria-activedescendant", `mention-${i}`);
  }

  function pick(i) {
    const person = options[i];
    if (!person || !mention) return;
    const text = `@${handleFor(person, attendees())} `;
    area.setRangeText(text, mention.start, area.selectionStart, "end");
    close();
    say(`${person.name} mentioned.`);
  }

  async function update() {
    // Every keystroke outdates the answers still on their way, also one that ends the mention
    // (else a late answer would reopen the list, and Enter would pick instead of a new line).
    const ask = ++asked;
    mention = mentionAtCaret();
    if (!mention) return close();
    const here = attendees();
    const matches = (p) => p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(mention.text))
      || p.email.toLowerCase().startsWith(mention.text);
    let people = here.filter(matches);
    if (mention.text.length > 0) {
      const known = await suggest(mention.text);
      // A newer keystroke asked again meanwhile: its answer wins.
      if (ask !== asked) return;
      const seen = new Set(people.map((p) => p.email.toLowerCase()));
      people = people.concat(known.filter((p) => !seen.has(p.email.toLowerCase())));
    }
    options = people.slice(0, 10);
    if (options.length === 0) return close();
    list.replaceChildren(...options.map((p, i) => {
      const li = document.createElement("li");
      li.id = `mention-${i}`;
      li.setAttribute("role", "option");
      li.textContent = p.attendee ? `${p.name} (attendee)` : `${p.name} · ${p.email}`;
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(i); });
      return li;
    }));
    list.hidden = false;
    area.setAttribute("aria-expanded", "true");
    highlight(0);
    say(`${options.length} ${options.length === 1 ? "person" : "people"} to mention: arrows to choose, Enter to pick.`);
  }

  area.addEventListener("input", update);
  area.addEventListener("blur", close);
  area.addEventListener("keydown", (event) => {
    if (list.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      ArrowDown: () => highlight((active + 1) % options.length),
      ArrowUp: () => highlight((active - 1 + options.length) % options.length),
      Enter: () => pick(active),
      Tab: () => pick(active),
      Escape: close,
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });
}

function peopleField(input) {
  const list = document.getElementById(input.getAttribute("list"));
  if (!list) return;
  input.addEventListener("input", async () => {
    const text = input.value.trim();
    if (text.length === 0 || text.includes("@")) return;
    const people = await suggest(text.toLowerCase());
    list.replaceChildren(...people.map((p) => {
      const option = document.createElement("option");
      option.value = p.email;
      option.label = p.name;
      return option;
    }));
  });
}

document.querySelectorAll(".note-form textarea").forEach(mentionCompletion);
document.querySelectorAll("input[data-people]").forEach(peopleField);
