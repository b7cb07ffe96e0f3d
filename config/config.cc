// The config loader. Each source — the TOML file, the FOOTHOLD_* environment,
// the flags — is first flattened into one view of dotted keys
// ("storage.durability" -> raw value, plus where it came from). The views are
// then applied lowest precedence first through ONE table of settings, so every
// source gets the same parsing, validation and error messages, and a later
// source simply overwrites what an earlier one set.

#include "config/config.h"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "config/analytics.h"
#include "config/settings.h"
#include "config/values.h"

namespace foothold::config {
namespace {

struct Args {
  Command command = Command::kServe;
  bool help = false;
  bool version = false;
  std::string config_path;  // "" = not given
  bool has_config = false;
  View flags;
};

// Flags (config/README.md) map onto top-level keys.
constexpr std::pair<std::string_view, std::string_view> kFlagKeys[] = {
    {"--listen", "listen"},   {"--admin-listen", "admin_listen"}, {"--data-dir", "data_dir"},
    {"--threads", "threads"}, {"--log-level", "log_level"},
};

bool ParseArgs(int argc, const char* const* argv, Args* args, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      args->help = true;
      continue;
    }
    if (arg == "--version") {
      args->version = true;
      continue;
    }
    if (!arg.starts_with("-")) {
      if (arg == "verify" && args->command == Command::kServe) {
        args->command = Command::kVerify;
        continue;
      }
      if (arg == "rebuild" && args->command == Command::kServe) {
        args->command = Command::kRebuild;
        continue;
      }
      *error = "unexpected argument " + Quote(arg) + " (see foothold --help)";
      return false;
    }
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    std::string_view key;
    for (const auto& [flag, flag_key] : kFlagKeys) {
      if (name == flag) key = flag_key;
    }
    if (key.empty() && name != "--config") {
      *error = "unknown flag " + std::string(name) + " (see foothold --help)";
      return false;
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
      value = argv[++i];
    } else {
      *error = "missing value for flag " + std::string(name);
      return false;
    }
    if (name == "--config") {
      if (value.empty()) {
        *error = "flag --config: the file path is empty";
        return false;
      }
      args->config_path = value;
      args->has_config = true;
    } else {
      args->flags.push_back(
          {std::string(key), {RawValue::Kind::kText, value, {}}, "flag " + std::string(name)});
    }
  }
  return true;
}

constexpr std::string_view kEnvPrefix = "FOOTHOLD_";

// Kubernetes injects service links into every pod of a namespace: a Service
// named "foothold" (or "foothold-admin") yields FOOTHOLD_SERVICE_HOST,
// FOOTHOLD_SERVICE_PORT[_NAME], FOOTHOLD_PORT=tcp://..., and
// FOOTHOLD_PORT_8080_TCP[_ADDR|_PORT|_PROTO]. They are not settings, and
// refusing them would crash-loop the pod, so they are skipped by shape. No
// setting's variable contains "SERVICE_" or "PORT".
bool IsServiceLink(std::string_view name, std::string_view value) {
  if (name.ends_with("_SERVICE_HOST") || name.ends_with("_SERVICE_PORT") ||
      name.find("_SERVICE_PORT_") != std::string_view::npos) {
    return true;
  }
  for (size_t at = name.find("_PORT_"); at != std::string_view::npos;
       at = name.find("_PORT_", at + 1)) {
    std::string_view rest = name.substr(at + 6);
    const size_t digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos) continue;
    rest.remove_prefix(digits);
    if (rest.starts_with("_TCP") || rest.starts_with("_UDP") || rest.starts_with("_SCTP")) {
      return true;
    }
  }
  return name.ends_with("_PORT") && (value.starts_with("tcp://") || value.starts_with("udp://") ||
                                     value.starts_with("sctp://"));
}

// FOOTHOLD_STORAGE__DURABILITY -> storage.durability. FOOTHOLD_CONFIG names
// the file instead and goes to `config_path`.
View EnvView(const char* const* envp, std::string* config_path) {
  View view;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view var = *envp;
    const size_t eq = var.find('=');
    if (!var.starts_with(kEnvPrefix) || eq == std::string_view::npos) continue;
    const std::string_view name = var.substr(0, eq);
    const std::string value(var.substr(eq + 1));
    if (name == "FOOTHOLD_CONFIG") {
      *config_path = value;
      continue;
    }
    if (IsServiceLink(name, value)) continue;
    std::string key;
    for (size_t i = kEnvPrefix.size(); i < name.size(); ++i) {
      if (name.compare(i, 2, "__") == 0) {
        key += '.';
        ++i;
      } else {
        key += static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
      }
    }
    view.push_back(
        {key, {RawValue::Kind::kText, value, {}}, "environment variable " + std::string(name)});
  }
  return view;
}

RawValue FromToml(const toml::node& node) {
  RawValue raw;
  if (const auto* s = node.as_string()) {
    raw.text = s->get();
  } else if (const auto* i = node.as_integer()) {
    raw.kind = RawValue::Kind::kInteger;
    raw.text = std::to_string(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    raw.kind = RawValue::Kind::kFloat;
    char buf[64];
    raw.text.assign(buf, std::to_chars(buf, buf + sizeof buf, f->get()).ptr);
  } else {
    raw.kind = RawValue::Kind::kOther;
    std::ostringstream out;
    node.visit([&out](const auto& n) { out << n; });
    raw.text = out.str();
    // is_homogeneous is false for an empty array, which is a valid empty list.
    const toml::array* array = node.as_array();
    if (array != nullptr && (array->empty() || array->is_homogeneous<std::string>())) {
      raw.kind = RawValue::Kind::kList;
      for (const toml::node& item : *array) raw.items.push_back(item.as_string()->get());
    }
  }
  return raw;
}

void FlattenToml(const toml::table& table, const std::string& prefix, const std::string& path,
                 const std::vector<Setting>& settings, View* view,
                 std::vector<std::string>* errors) {
  for (const auto& [name, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    const std::string origin = path + ":" + std::to_string(node.source().begin.line);
    if (prefix.empty() && IsAnalyticsKey(key)) continue;  // ReadAnalytics reads these
    if (const toml::table* sub = node.as_table()) {
      if (IsSection(settings, key)) {
        FlattenToml(*sub, key, path, settings, view, errors);
      } else {
        errors->push_back(origin + ": unknown section [" + key + "]");
      }
      continue;
    }
    view->push_back({key, FromToml(node), origin});
  }
}

// Appends the file's settings to `view` and sets its analytics definitions in
// `config` (they have no other source), or appends messages to `errors`.
void FileView(const std::string& path, const std::vector<Setting>& settings, View* view,
              Config* config, std::vector<std::string>* errors) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors->push_back("cannot read config file " + path + ": it is a directory");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in) content << in.rdbuf();
  if (!in || in.bad()) {
    errors->push_back("cannot read config file " + path + ": " + std::strerror(errno));
    return;
  }
  try {
    toml::table table = toml::parse(content.str(), path);
    FlattenToml(table, "", path, settings, view, errors);
    ReadAnalytics(table, path, config, errors);
    ReadSources(table, path, config, errors);
  } catch (const toml::parse_error& e) {
    errors->push_back(path + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
}

// Checks that involve more than one key, after all sources are applied.
void CheckTogether(const Config& config, std::vector<std::string>* errors) {
  HostPort listen;
  for (const auto* paths : {&config.tracker.script_paths, &config.tracker.collect_paths}) {
    for (const std::string& p : *paths) {
      if (config.demo.enabled && p.starts_with("/p/")) {
        errors->push_back("tracker path " + Quote(p) + " is under /p/, which the demo shop serves while demo.enabled = true");
      }
    }
  }
  for (const std::string& script : config.tracker.script_paths) {
    for (const std::string& collect : config.tracker.collect_paths) {
      if (script == collect) {
        errors->push_back("tracker.script_path and tracker.collect_path both name " + Quote(script) +
                          "; a path serves the script or collects, not both");
      }
    }
  }
  if (!config.admin_listen.empty() && config.admin_listen == config.listen &&
      ParseHostPort(config.listen, &listen) && listen.port != 0) {
    errors->push_back(
        "admin_listen " + Quote(config.admin_listen) +
        " is the same address as listen; leave it \"\" to serve admin endpoints there");
  }
  // A request is queued whole: one bigger than the queue could never be
  // accepted, and every full-size batch would get 503 queue_full forever.
  if (config.storage.queue_capacity < config.limits.max_events) {
    errors->push_back("storage.queue_capacity (" + std::to_string(config.storage.queue_capacity) +
                      ") is smaller than limits.max_events (" + std::to_string(config.limits.max_events) +
                      "): a full-size batch could never be queued; make it at least limits.max_events");
  }
}

LoadResult Load(int argc, const char* const* argv, const char* const* envp) {
  LoadResult result;
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, &args, &error)) {
    result.error = error;
    result.exit_code = 2;
    return result;
  }
  result.command = args.command;
  // --help and --version work whatever the environment or config file hold.
  if (args.help || args.version) {
    result.command = args.help ? Command::kHelp : Command::kVersion;
    return result;
  }

  const std::vector<Setting> settings = Settings();
  std::vector<std::string> errors;
  std::string env_config_path;
  const View env = EnvView(envp, &env_config_path);
  // An empty FOOTHOLD_CONFIG counts as unset (compose files write X=${X:-}).
  const std::string path = args.has_config ? args.config_path : env_config_path;
  View file;
  if (!path.empty()) FileView(path, settings, &file, &result.config, &errors);

  Apply(file, settings, &result.config, &errors);
  Apply(env, settings, &result.config, &errors);
  Apply(args.flags, settings, &result.config, &errors);
  if (errors.empty()) CheckTogether(result.config, &errors);

  for (const std::string& e : errors) result.error += (result.error.empty() ? "" : "\n") + e;
  if (!errors.empty()) result.exit_code = 2;
  return result;
}

}  // namespace

LoadResult LoadConfig(int argc, const char* const* argv, const char* const* envp) {
  // Startup code: nothing here should throw, but an exception escaping would
  // abort with an unhelpful message instead of exiting 2.
  try {
    return Load(argc, argv, envp);
  } catch (const std::exception& e) {
    LoadResult result;
    result.error = std::string("loading the configuration failed: ") + e.what();
    result.exit_code = 2;
    return result;
  }
}

std::string UsageText() {
  return R"(Usage:
  foothold [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT]
           [--data-dir DIR] [--threads N] [--log-level LEVEL]
  foothold verify [--data-dir DIR] [other flags]
      recount the journey log and compare it with the counters (exit 1 on mismatch)
  foothold rebuild [--config FILE] [--data-dir DIR] [other flags]
      recount the retained log with the configured definitions into fresh counters
      and switch to them (the server must not be running on DIR)
  foothold --version | --help

Flags (also written --flag=value):
  --config FILE             TOML config file (default: $FOOTHOLD_CONFIG, else none)
  --listen HOST:PORT        collector listener (default 0.0.0.0:8080; port 0 picks a free one)
  --admin-listen HOST:PORT  stats, sessions and metrics listener (default: on --listen)
  --data-dir DIR            RocksDB directory (default ./data)
  --threads N               I/O threads, 0..256 (default 0 = one per core)
  --log-level LEVEL         trace, debug, info, warn or error (default info)
  -h, --help                print this text
  --version                 print the version

Configuration sources, highest precedence first:
  1. the flags above;
  2. FOOTHOLD_<KEY> environment variables: FOOTHOLD_LISTEN, FOOTHOLD_DATA_DIR, ...;
     nested keys with "__" (FOOTHOLD_STORAGE__DURABILITY=sync); lists comma-separated
     (FOOTHOLD_TRUSTED_PROXIES=10.0.0.0/8,::1). Unknown FOOTHOLD_* variables are errors;
  3. the TOML config file; config/foothold.toml documents every key and its default.
     Analytics definitions ([[micro_conversion]], [[macro_conversion]], [[funnel]],
     [[experiment]]) are read only from this file;
  4. built-in defaults.
Durations are written "500ms", "30s", "30m", "24h", "2d" (a bare integer is milliseconds);
sizes as bytes or "32KiB", "1MiB", "1GiB".
An unknown key or invalid value exits with status 2, naming the key and what is allowed.
)";
}

}  // namespace foothold::config
