// Progressive enhancement of a meeting's follow-up: without this file the recap link, the
// "Mark recap as sent" button and the Markdown box all work as they are.

// "Copy as Markdown": the box's text to the clipboard, said aloud through the live region.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      if (status) status.textContent = "Recap copied as Markdown.";
    } catch {
      if (status) status.textContent = "Copying was refused: select the text below instead.";
    }
  });
}

// Opening the recap in the mail client marks it sent (the mail client cannot tell us).
const sentForm = document.getElementById("recap-sent-form");
for (const link of document.querySelectorAll("a[data-recap-mailto]")) {
  link.addEventListener("click", () => {
    if (!sentForm || sentForm.elements.sent.value !== "true") return;
    fetch(sentForm.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(sentForm)),
      redirect: "manual",
      keepalive: true,
    }).then(() => {
      // The form now offers what the page would after a reload: taking the mark back.
      sentForm.elements.sent.value = "false";
      const status = sentForm.querySelector("[data-recap-status]");
      if (status) status.textContent = "Recap sent just now.";
      const button = sentForm.querySelector("button[type=submit]");
      if (button) {
        button.textContent = "Mark as not sent";
        button.className = "link";
      }
    }, () => {});
  });
}
