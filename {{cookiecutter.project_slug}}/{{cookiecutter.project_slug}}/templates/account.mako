<%inherit file="layout.mako"/>
<%def name="title()">Account · ${project_name}</%def>
% if error:
<p class="notice notice-error" role="alert">${error}</p>
% endif
% if new_token:
<p class="notice notice-ok" role="status">Your new API token, shown this once: copy it now.
  <code id="new-token" class="secret">${new_token}</code></p>
% endif
% if new_link:
<p class="notice notice-ok" role="status">Share link (anyone with it can download the file):
  <code id="new-link" class="secret">${new_link}</code></p>
% endif
<section class="tokens" aria-labelledby="tokens-heading">
  <h2 id="tokens-heading">API tokens</h2>
  <p>Programs send a token as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
  <ul id="token-list">
    % for token in tokens:
    <li class="token">${token['label']} · ${token['scopes']} · made ${token['created']} · last used ${token['last_used']} · expires ${token['expires']}
      % if token['revoked']:
      · revoked ${token['revoked']}
      % else:
      <form class="revoke-form" method="post" action="${token['revoke_url']}">
        <input type="hidden" name="csrf_token" value="${csrf_token}">
        <button type="submit" class="danger">Revoke<span class="visually-hidden"> ${token['label']}</span></button>
      </form>
      % endif
    </li>
    % endfor
  </ul>
  <form id="token-form" method="post" action="${request.route_path('tokens')}" accept-charset="utf-8">
    <input type="hidden" name="csrf_token" value="${csrf_token}">
    <p><label for="label">Label</label> <input id="label" name="label" maxlength="100" required></p>
    <fieldset><legend>Scopes</legend>
      % for scope in scopes:
      <label><input type="checkbox" name="scope" value="${scope}"${'' if scope == 'delete' else ' checked'}> ${scope}</label>
      % endfor
    </fieldset>
    <p><label for="expires_days">Expires after (days, empty for never)</label>
      <input id="expires_days" name="expires_days" inputmode="numeric" pattern="[0-9]*"></p>
    <button type="submit" class="primary">Make a token</button>
  </form>
</section>
<section class="links" aria-labelledby="links-heading">
  <h2 id="links-heading">Share links</h2>
  <ul id="link-list">
    % for link in links:
    <li class="link">${link['filename']} · made ${link['created']} · expires ${link['expires']}
      % if link['revoked']:
      · revoked ${link['revoked']}
      % else:
      <form class="revoke-form" method="post" action="${link['revoke_url']}">
        <input type="hidden" name="csrf_token" value="${csrf_token}">
        <button type="submit" class="danger">Revoke<span class="visually-hidden"> the link to ${link['filename']}</span></button>
      </form>
      % endif
    </li>
    % endfor
  </ul>
</section>
