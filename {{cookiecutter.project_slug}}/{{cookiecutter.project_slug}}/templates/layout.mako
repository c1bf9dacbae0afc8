<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${self.title()}</title>
  <link rel="icon" href="${static_url}favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="${static_url}upload.css">
  <script src="${static_url}tus.min.js" defer></script>
  <script src="${static_url}upload.js" defer></script>
</head>
<body>
  <main>
    <header class="top">
      <h1><a href="${request.route_path('home')}">${project_name}</a></h1>
{%- if cookiecutter.access == "accounts" %}
      % if signed_in:
      <nav class="account-bar" aria-label="Account">
        Signed in as <strong>${signed_in}</strong> · <a href="${request.route_path('account')}">Account and API tokens</a>
        <form class="signout-form" method="post" action="${request.route_path('signout')}">
          <input type="hidden" name="csrf_token" value="${signout_csrf_token}">
          <button type="submit">Sign out</button>
        </form>
      </nav>
      % endif
{%- endif %}
    </header>
    ${self.body()}
  </main>
</body>
</html>
<%def name="title()">${project_name}</%def>
