// The development page behind emailed links (app/account_pages.py): sends the link's token
// and the chosen password to acceptInvitation or resetPassword, and says what came back.
const form = document.querySelector("form");
const status = document.querySelector("output");
const mutation = form.dataset.mutation;
const inputName = mutation === "acceptInvitation" ? "password" : "newPassword";
const token = new URLSearchParams(location.search).get("token") || "";

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "…";
  const query = `mutation($input: ${mutation === "acceptInvitation" ? "AcceptInvitationInput" : "ResetPasswordInput"}!) {
    ${mutation}(input: $input) { user { email } userErrors { code message } } }`;
  const input = { token, [inputName]: form.elements.password.value };
  try {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/graphql-response+json" },
      body: JSON.stringify({ query, variables: { input } }),
    });
    const body = await response.json();
    const payload = body.data && body.data[mutation];
    if (!payload) {
      status.textContent = (body.errors || [{ message: `HTTP ${response.status}` }])[0].message;
    } else if (payload.userErrors.length) {
      status.textContent = payload.userErrors.map((error) => error.message).join(" ");
    } else {
      form.hidden = true;
      status.textContent = `Done: ${payload.user.email} can log in with the new password.`;
    }
  } catch (error) {
    status.textContent = `The server did not answer: ${error}`;
  }
});
