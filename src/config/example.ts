/**
 * The configuration `gatehouse init` writes: the example of DESIGN.md section 5 with comments, showing all
 * three risk tiers at once. Every capability that adds configuration extends this text, and a test keeps it valid.
 */
export const EXAMPLE_CONFIG = `# Gatehouse configuration. Schema: schema/gatehouse.schema.json (editors autocomplete with it).
# Everything not listed here is denied: unknown tools, unknown agents, ungranted actions.
version: 1

server:
  host: 127.0.0.1          # the gateway listens on loopback only unless you change this
  port: 7878
  body_limit: 1MiB         # larger request bodies are refused with 413
  # tls:                   # HTTPS (or gatehouse serve --tls); see docs/identity.md and docs/operations.md
  #   client_certs: optional       # off, optional (certificate or token), required (agents with a certificate only)
  #   dns: [gatehouse.internal]    # names of the server certificate Gatehouse's own CA issues at start
  #   # cert_file: /etc/gatehouse/tls.crt   # or your own PKI's chain and key (relative paths: to this file)
  #   # key_file: /etc/gatehouse/tls.key

# Agent identity. Remote callers (HTTP, MCP) present an access token or a client certificate; the local CLI
# and the in-process library act as the host for the agent an action names, which must be registered
# (gatehouse agents register NAME --role R) or declared below.
identity:
  trust_domain: gatehouse.local   # agents are spiffe://gatehouse.local/agent/<id>
  access_token_ttl: 10m           # EdDSA at+jwt access tokens, bound to the agent key (cnf.jkt)
  # refresh_token_ttl: 24h        # single use, rotated on every refresh; reuse marks the agent compromised
  # clock_skew: 30s               # tolerated for exp/nbf/iat; at most 5m
  # agent_key_algorithm: Ed25519  # for generated agent keys: Ed25519, P-384 or RSA-4096
  # agent_key_rotation: 90d
  # unregistered_agents: deny     # host-mode actions for unknown agents: deny (default) or allow
  # ca: { key_algorithm: Ed25519, intermediate_lifetime: 30d, leaf_lifetime: 24h }
  agents:
    demo:                         # the agent of the quick-start examples; acts through the host until it has a key
      roles: [assistant]

# Roles carry grants; an agent gets the grants of its roles and of every role they inherit.
# Default deny: a call needs a permitting grant, and any matching forbid rule (policy.forbid) wins.
# resources are globs over what a tool addresses (workspace/<path> for path arguments): * is one segment, ** any.
roles:
  reader:
    grants:
      - tools: ["fs.read", "web.fetch"]
        resources: ["workspace/**"]
  assistant:
    inherits: [reader]
    grants:
      - tools: ["email.send"]
        when: "!('bcc' in action.args)"   # CEL, type-checked when the policy loads: no hidden recipients
        # when: "context.hour >= 8 && context.hour < 20"   # office hours (UTC, from Gatehouse's clock)
        # expires: 2026-12-31T00:00:00Z   # a temporary grant
        # delegable: true                 # may be delegated, narrowed, at runtime (gatehouse grants delegate)
        # constraints: { time: { days: [mon, tue, wed, thu, fri], hours: "08:00-18:00" }, max_calls_per_hour: 20 }
    # max_agents: 10                      # at most this many agents hold the role
    # active: { hours: "06:00-22:00" }    # the role is effective only inside this window (UTC unless utc_offset)

# The tool catalogue. risk: low runs; medium runs and is flagged in the audit log;
# high waits for a human approval bound to the exact arguments.
tools:
  fs.read:
    risk: low
    description: Read a file inside the workspace
    reads: private         # none | public | private | secret: reading private data labels the session (docs/flow.md)
    args:
      path:                # resolved against the workspace, symlinks followed: escapes are denied
        deny: ["**/.env", "**/*.pem", ".git/**"]
  web.fetch:
    risk: medium
    description: Fetch a web page
    output: untrusted      # results are screened for injected instructions
    reads: public
    sink: external         # the URL itself carries data out
    destinations: { url: url }   # checked against where the URL first appeared (owner, trusted data, untrusted)
    args:
      url:                 # loopback, private, link-local and metadata addresses are denied in every spelling
        schemes: [https, http]
        deny: ["pastebin.com", "*.pastebin.com", "transfer.sh", "*.ngrok.io", "*.ngrok-free.app"]
        # hosts: ["api.github.com", "*.example.com"]   # an allowlist: only these hosts
  email.send:
    risk: high
    description: Send an email
    sink: external
    destinations: { to: email, cc: email, bcc: email }   # the addressee: never redacted, provenance-checked
    payload: [subject, body]                             # delivered as written
  shell.exec:
    risk: high
    description: Run a shell command in the sandbox
    sandbox: default
    destinations: { command: command }   # hosts it reaches and paths rm/mv/shred remove carry provenance
    args:
      command:             # parsed as shell; built-in rules also deny rm -rf / in any spelling, download|sh,
        deny: ["rm -rf /", "curl * | sh"]   # sudo, chmod 777, eval; patterns match parsed commands, not substrings
    # destructive: true
    # dry_run: shell.plan  # a destructive tool's dry-run variant; its result is shown with the approval request

# Prompt-injection screening: scores are 0-10; block at 4 or more, ask for review at 2 or more.
screening:
  block_at: 4
  review_at: 2
  # max_input: 4MiB            # longer content is screened head and tail and sent for review
  # decode_depth: 2            # nested base64/hex/percent/entity/quoted-printable decoding (0-2)
  # session: { half_life: 10m, escalate_at: 8, carry_chars: 1000 }   # multi-turn accumulation
  # tool_results: { screen: all, on_block: deny }   # screen: untrusted = only tools with output: untrusted
  # spotlighting: { mode: delimit, applies_to: untrusted }           # off | delimit | datamark
  # sources:
  #   owner: { screen: false }                      # the operator's own input
  #   public: { block_at: 3, review_at: 1.5 }       # stricter for anonymous users

# Output filtering: secrets are always redacted; these PII kinds too; links only to these domains.
redaction:
  secrets: true
  pii: [email, credit_card, iban]
  allow_domains: ["github.com"]
  mode: label              # label: [REDACTED:kind]; partial: keep the last 4; hmac: keyed hash that correlates
  # destinations:          # per destination (chat, tool_args, tool_result, http, log); unset fields inherit
  #   chat:      { pii: [email, phone, credit_card, iban, us_ssn], generic: warn }
  #   tool_args: { generic: redact }
  # known_secrets_env: [OPENAI_API_KEY]   # values matched exactly in raw, base64, hex and URL-encoded form
  # transfer_budget: { bytes: 1MiB, window: 1h }   # per agent, to hosts off allow_domains

# Credentials agents use by handle ({{secret:NAME}}), resolved only when the tool runs.
# Store vault credentials with: printf %s "$TOKEN" | gatehouse secrets put github_token --agent '*' --tool http.get
credentials:
  env: {}
  # env:
  #   github_token: { var: GITHUB_TOKEN, agents: ["triage-bot"], tools: ["http.get"] }

# Sandbox profiles for tools that run commands (bubblewrap >= 0.8 + seccomp + cgroups; see docs/sandbox.md).
# If any protection cannot be proven at startup, commands are refused: there is no silent fallback.
sandbox:
  # user: { uid: 65534, gid: 65534 }   # host identity of sandboxes when Gatehouse runs as root (never 0)
  # unsandboxed: false                 # DANGER: run commands with no sandbox; logged loudly and audited
  profiles:
    default:
      network: none        # no network at all; 'allowlist' routes HTTPS through a per-sandbox CONNECT proxy
      workspace: rw        # the workspace is mounted at /workspace (rw, ro or none)
      memory: 1GiB         # memory cgroup limit, no swap
      pids: 64             # processes and threads (pids cgroup)
      cpu_seconds: 30      # CPU time for the whole process tree
      timeout: 60s         # wall clock; the whole tree is killed
      files: 256           # open files per process
    # web:
    #   network: allowlist
    #   allow_hosts: ["registry.npmjs.org:443", "*.github.com:443"]
    #   filesystem: { read_only: ["/opt/tools"], forbidden: ["secrets/**"] }
    #   resources: { cpu: { quota: 0.5 }, tmp_size: 64MiB, network_connections: 100, network_bytes: 100MiB }

limits:
  per_agent:
    tool_calls_per_minute: 120
    # egress_bytes_per_hour: 10MiB   # data an agent may send out (egress, tools with sink: external)
  # per_tool: { "web.fetch": { calls_per_minute: 60 } }
  # budgets:
  #   - { name: email-daily, tools: ["email.send"], window: 24h, max_calls: 50 }
  #   - { name: spend, window: 1h, max_cost: 100 }   # tools declare cost: N (default 1)

# Human approvals for high-tier actions: bound to the exact action, single use, expiring.
approvals:
  expiry: 15m
  max_pending_per_agent: 5       # approval-fatigue caps: beyond these, requests are denied
  max_requests_per_hour: 30
  # webhook: { url: "https://hooks.example.com/gatehouse", secret_env: GATEHOUSE_WEBHOOK_SECRET }   # HMAC-SHA256 signed

# policy:
#   workspace: .                 # root for path arguments (default: this file's directory)
#   forbid:
#     - { tools: ["shell.exec"], when: "'untrusted_instructions' in session.labels", reason: "no shell after untrusted input" }
#   grants:                      # grants to named agents
#     - { agents: [demo], tools: ["fs.read"], resources: ["workspace/docs/**"], expires: 2026-12-31T00:00:00Z }
#   risk: { screen_medium_at: 2, screen_high_at: 4, labels: { untrusted_instructions: high } }

# MCP proxy (gatehouse mcp --name fs --agent demo -- npx -y @modelcontextprotocol/server-filesystem DIR).
# Tools of server NAME are NAME.<tool> in the catalogue and the policy; reading its resources is the tool
# "mcp.resource:NAME" (args: uri) and getting its prompts "mcp.prompt:NAME" (args: name, arguments); see docs/mcp.md.
mcp:
  on_pin_violation: block        # a tool definition that changed since it was pinned: block, or review (approval)
  # on_poisoned_description: block   # a description carrying instructions for the model: block or flag
  # agent: demo                  # the agent the proxy acts for (or --agent, or a token in GATEHOUSE_TOKEN)
  # approval_timeout: 5m         # a call waiting for approval is denied after this
  # elicitation: false           # true: also ask the MCP client's user (the agent's own client: off by default)
  # on_upstream_exit: exit       # exit, or reconnect (reconnect: { max_attempts: 5, backoff: 500ms })
  # servers:                     # several servers behind one proxy (gatehouse mcp without a command)
  #   fs:     { command: npx, args: ["-y", "@modelcontextprotocol/server-filesystem", "."] }
  #   remote: { url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer {{secret:remote_token}}" } }
  # http: { host: 127.0.0.1, port: 8931, path: /mcp }   # gatehouse mcp --http

# Monitoring: per-agent baselines over 1-minute windows; alert rules flag (raise the risk tier of) or
# quarantine (deny everything, revoke tokens, kill sandboxes) an agent. Lift with 'gatehouse response restore'.
monitor:
  window: 1m
  alerts:
    - { name: deny-burst, when: "denies_per_window >= 20", action: quarantine }
    - { name: injection-burst, when: "screen_blocks_per_window >= 5", action: quarantine }
    - { name: unusual-call-rate, when: "zscore(tool_calls_per_window) >= 4", action: flag }
`;
