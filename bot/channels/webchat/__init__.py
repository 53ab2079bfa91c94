"""The built-in web chat: a merchant's page at ``/`` of ``posbot run`` (channel ``web``).

- ``channel`` — the Channel ``posbot run`` starts; ``pages`` — the routes;
- ``visitor`` — the anonymous signed cookie; ``language`` — the page's language;
- ``inbound`` — what a page may POST; ``views`` — what it is given to show;
- ``stream`` — replies pushed live (Server-Sent Events);
- ``templates/chat.html``, ``static/chat.js``, ``static/chat.css`` — the page itself."""
