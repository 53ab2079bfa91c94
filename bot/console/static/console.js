// Live pages: the server says "changed" (server-sent events) and the page fetches the part
// that shows it again — the inbox rows, or a conversation's transcript.
(function () {
  const rows = document.getElementById("inbox-rows");
  const transcript = document.getElementById("transcript");
  if (!rows && !transcript) return;
  const refresh = async () => {
    if (rows) {
      const filter = document.getElementById("inbox").dataset.filter;
      const answer = await fetch("/console/inbox/rows?f=" + encodeURIComponent(filter));
      if (answer.ok) rows.innerHTML = await answer.text();
    }
    if (transcript) {
      const id = transcript.dataset.conversation;
      const answer = await fetch("/console/c/" + id + "/transcript");
      if (answer.ok) transcript.innerHTML = await answer.text();
    }
  };
  const live = new EventSource("/console/live");
  live.addEventListener("changed", refresh);
})();
