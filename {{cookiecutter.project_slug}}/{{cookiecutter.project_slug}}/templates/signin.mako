<%inherit file="layout.mako"/>
<%def name="title()">Sign in · ${project_name}</%def>
<section class="signin">
  <h2>Sign in</h2>
  % if error:
  <p class="notice notice-error" role="alert">${error}</p>
  % endif
  <form id="signin-form" method="post" action="${request.route_path('signin')}" accept-charset="utf-8">
    <input type="hidden" name="csrf_token" value="${csrf_token}">
    <input type="hidden" name="next" value="${next}">
    <p><label for="name">Name</label>
      <input id="name" name="name" value="${name}" autocomplete="username" maxlength="${max_name_length}" required autofocus></p>
    <p><label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" maxlength="${max_password_length}" required></p>
    <button type="submit" class="primary">Sign in</button>
  </form>
</section>
