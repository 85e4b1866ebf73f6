// Starts GraphiQL on the page app/graphiql.py renders, with the settings it put in
// #graphiql-config. A file rather than an inline script, so the page's
// Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("graphiql-config").textContent);
  const parameters = new URLSearchParams(window.location.search);
  const fetchURL = window.location.href.split("?")[0].split("#")[0];

  function websocketURL(url) {
    const parsed = new URL(url);
    parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
    return parsed.toString();
  }

  const fetcher = GraphiQL.createFetcher({
    url: fetchURL,
    subscriptionUrl: websocketURL(fetchURL),
  });

  // A document shared as ?query=...&variables=... wins over the default one, as on
  // Strawberry's page. Headers never go into the URL: they carry tokens.
  function rememberInURL(name, value) {
    if (value) parameters.set(name, value);
    else parameters.delete(name);
    const search = parameters.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  function BookingsGraphiQL() {
    const [query, setQuery] = React.useState(parameters.get("query") || config.document);
    const [variables, setVariables] = React.useState(parameters.get("variables") || undefined);
    // Demo mode: the demo user's header. Otherwise undefined, so GraphiQL keeps
    // the headers the person saved in this browser.
    const [headers, setHeaders] = React.useState(config.headers || undefined);

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      query: query,
      variables: variables,
      headers: headers,
      defaultQuery: config.document,
      defaultHeaders: config.headers || undefined,
      onEditQuery: function (value) {
        setQuery(value);
        rememberInURL("query", value === config.document ? "" : value);
      },
      onEditVariables: function (value) {
        setVariables(value);
        rememberInURL("variables", value);
      },
      onEditHeaders: setHeaders,
      defaultEditorToolsVisibility: config.editorTools,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(BookingsGraphiQL),
  );
})();
