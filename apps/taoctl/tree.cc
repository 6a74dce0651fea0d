// taoctl tree: the hosts behind one or more admin sockets and their
// programs, drawn as one tree. A host whose Tao name extends a program of
// another host (a stacked host, which is that program) is drawn under it, so
// `taoctl tree STACKED_SOCKET` on a root host shows root, stacked host and
// grandchildren as they nest.
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "apps/common/json.h"
#include "apps/taoctl/taoctl.h"
#include "tao/name_presentation.h"
#include "tao/principal.h"

namespace tao {
namespace taoctl {
namespace {

struct Host {
  std::string socket;
  std::string name;
  admin::ListHostedProgramsResponse programs;
  // A followed host: the host and program whose admin socket reached it.
  // It hangs there whatever name it claims.
  int via_host = -1;
  int via_program = -1;
};

// Where each host hangs: the program (host index, program index) whose name
// the host's name equals or extends, the longest such; running programs win
// over exited ones of the same name (a restarted stacked host).
struct Place {
  int host = -1;  // -1: a root of the tree
  int program = -1;
};

bool Extends(const std::string& name, const std::string& prefix) {
  return name == prefix ||
         (absl::StartsWith(name, prefix) && name.size() > prefix.size() &&
          name[prefix.size()] == '.');
}

std::vector<Place> PlaceHosts(const std::vector<Host>& hosts) {
  std::vector<Place> places(hosts.size());
  for (size_t h = 0; h < hosts.size(); ++h) {
    if (hosts[h].via_host >= 0) {
      places[h] = {hosts[h].via_host, hosts[h].via_program};
      continue;
    }
    size_t best_len = 0;
    bool best_running = false;
    for (size_t g = 0; g < hosts.size(); ++g) {
      // A host's own programs, or a host of the same name (the same host
      // given twice), never hold it.
      if (g == h || hosts[g].name == hosts[h].name) continue;
      const auto& programs = hosts[g].programs.programs();
      for (int p = 0; p < programs.size(); ++p) {
        const std::string& name = programs[p].name();
        if (!Extends(hosts[h].name, name)) continue;
        const bool running = !programs[p].exited();
        if (name.size() > best_len ||
            (name.size() == best_len && running && !best_running)) {
          best_len = name.size();
          best_running = running;
          places[h] = {static_cast<int>(g), p};
        }
      }
    }
  }
  return places;
}

class TreePrinter {
 public:
  TreePrinter(const std::vector<Host>& hosts, const std::vector<Place>& places)
      : hosts_(hosts), places_(places) {}

  void PrintText() {
    for (size_t h = 0; h < hosts_.size(); ++h) {
      if (places_[h].host >= 0) continue;
      HostText(static_cast<int>(h), "", "");
    }
  }

  std::string Json() {
    std::vector<std::string> roots;
    for (size_t h = 0; h < hosts_.size(); ++h) {
      if (places_[h].host < 0) roots.push_back(HostJson(static_cast<int>(h)));
    }
    return JsonObject()
        .AddRaw("hosts", absl::StrCat("[", absl::StrJoin(roots, ","), "]"))
        .ToString();
  }

 private:
  // The hosts hung under program `p` of host `h`.
  std::vector<int> HostsUnder(int h, int p) const {
    std::vector<int> out;
    for (size_t k = 0; k < places_.size(); ++k) {
      if (places_[k].host == h && places_[k].program == p) {
        out.push_back(static_cast<int>(k));
      }
    }
    return out;
  }

  // `name` as drawn under a node named `parent`: what it adds to that name
  // ("" if nothing), short unless --full; whole (short) at the top.
  static std::string Relative(const std::string& name,
                              const std::string& parent) {
    if (FLAGS_full || parent.empty() || !Extends(name, parent)) {
      return Names(name);
    }
    auto whole = Principal::Parse(name);
    auto above = Principal::Parse(parent);
    if (!whole.ok() || !above.ok()) return Names(name.substr(parent.size()));
    // What it adds, each part short; its last measurement whole (the digest
    // a policy names).
    const std::vector<Subprincipal>& subs = whole->subprincipals();
    size_t last_measurement = subs.size();
    for (size_t i = above->subprincipals().size(); i < subs.size(); ++i) {
      if (IsMeasurementKind(subs[i])) last_measurement = i;
    }
    std::string out;
    for (size_t i = above->subprincipals().size(); i < subs.size(); ++i) {
      absl::StrAppend(&out, ".",
                      ShortSubprincipal(subs[i], i == last_measurement));
    }
    return out;
  }

  // `first` prefixes the host's own line, `rest` every line below it.
  void HostText(int h, const std::string& first, const std::string& rest) {
    if (!drawn_.insert(h).second) return;
    const Host& host = hosts_[h];
    const Place& place = places_[h];
    std::cout << first << "host";
    if (place.host < 0) {
      std::cout << " " << Names(host.name);
    } else {
      const admin::HostedProgram& program =
          hosts_[place.host].programs.programs(place.program);
      const std::string more = Relative(host.name, program.name());
      std::cout << (more.empty()
                        ? absl::StrCat(" (program ", program.id(), ")")
                        : absl::StrCat(" (program ", program.id(), ")", more));
    }
    std::cout << "  " << host.socket << "\n";
    const auto& programs = host.programs.programs();
    for (int p = 0; p < programs.size(); ++p) {
      const bool last = p + 1 == programs.size();
      const admin::HostedProgram& program = programs[p];
      std::cout << rest << (last ? "└── " : "├── ") << program.id() << " "
                << (program.frozen() ? std::string("paused") : program.state());
      if (!program.service().empty()) std::cout << " " << program.service();
      std::cout << "  " << Relative(program.name(), host.name) << "\n";
      const std::string below = rest + (last ? "    " : "│   ");
      for (int k : HostsUnder(h, p))
        HostText(k, below + "└── ", below + "    ");
    }
  }

  std::string HostJson(int h) {
    if (!drawn_.insert(h).second) return "{}";
    const Host& host = hosts_[h];
    std::vector<std::string> programs;
    for (int p = 0; p < host.programs.programs_size(); ++p) {
      const admin::HostedProgram& program = host.programs.programs(p);
      std::vector<std::string> under;
      for (int k : HostsUnder(h, p)) under.push_back(HostJson(k));
      programs.push_back(
          JsonObject()
              .Add("id", static_cast<uint64_t>(program.id()))
              .Add("name", program.name())
              .Add("state",
                   program.frozen() ? std::string("paused") : program.state())
              .Add("service", program.service())
              .AddRaw("hosts",
                      absl::StrCat("[", absl::StrJoin(under, ","), "]"))
              .ToString());
    }
    return JsonObject()
        .Add("socket", host.socket)
        .Add("name", host.name)
        .AddRaw("programs",
                absl::StrCat("[", absl::StrJoin(programs, ","), "]"))
        .ToString();
  }

  const std::vector<Host>& hosts_;
  const std::vector<Place>& places_;
  std::set<int> drawn_;
};

// A program's own host, reached through its admin socket (a VM's guest
// host): untrusted, so bounded in time and size, and every string it
// gives is made printable before it reaches the terminal.
constexpr absl::Duration kFollowedDeadline = absl::Seconds(5);
constexpr int kFollowedMaxPrograms = 100000;

std::string PrintableOnly(const std::string& text) {
  std::string out = text.substr(0, 4096);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || u >= 0x80) c = '?';
  }
  return out;
}

void MakePrintable(Host* host) {
  host->name = PrintableOnly(host->name);
  for (admin::HostedProgram& p : *host->programs.mutable_programs()) {
    p.set_name(PrintableOnly(p.name()));
    p.set_state(PrintableOnly(p.state()));
    p.set_service(PrintableOnly(p.service()));
  }
}

// The name and programs of the host behind `socket`; `followed`: a
// program's own host, held to the bounds above.
grpc::Status LoadHost(const std::string& socket, bool followed, Host* host) {
  auto channel = grpc::CreateChannel(absl::StrCat("unix:", socket),
                                     grpc::InsecureChannelCredentials());
  auto stub = admin::AdminService::NewStub(channel);
  host->socket = socket;
  const absl::Time deadline =
      followed ? absl::Now() + kFollowedDeadline : absl::InfiniteFuture();
  grpc::ClientContext context;
  if (followed) {
    context.set_deadline(absl::ToChronoTime(deadline));
  } else {
    SetDeadline(&context, false);
  }
  admin::GetTaoNameResponse name;
  grpc::Status status =
      stub->GetTaoName(&context, admin::GetTaoNameRequest(), &name);
  if (status.ok()) {
    status = followed ? ListAll(*stub, &host->programs, deadline,
                                kFollowedMaxPrograms)
                      : ListAll(*stub, &host->programs);
  }
  host->name = name.name();
  if (followed) MakePrintable(host);
  return status;
}

bool Known(const std::vector<Host>& hosts, const std::string& name) {
  for (const Host& h : hosts) {
    if (h.name == name) return true;
  }
  return false;
}

}  // namespace

int Tree(const std::vector<std::string>& sockets) {
  std::vector<Host> hosts;
  for (const std::string& socket : sockets) {
    Host host;
    grpc::Status status = LoadHost(socket, false, &host);
    if (!status.ok()) {
      return Fail(
          grpc::Status(status.error_code(),
                       absl::StrCat(socket, ": ", status.error_message())));
    }
    // The same host behind two paths is drawn once.
    if (!Known(hosts, host.name)) hosts.push_back(std::move(host));
  }
  // The admin sockets the hosts given report for their running programs
  // (VMs): followed one level only, never those a followed host reports,
  // since a guest may name any path.
  const int given = static_cast<int>(hosts.size());
  for (int h = 0; h < given; ++h) {
    for (int p = 0; p < hosts[h].programs.programs_size(); ++p) {
      // Copies: `hosts` grows below.
      const admin::HostedProgram program = hosts[h].programs.programs(p);
      if (program.admin_socket().empty() || program.exited()) continue;
      Host host;
      grpc::Status status = LoadHost(program.admin_socket(), true, &host);
      if (!status.ok()) {
        std::cerr << "taoctl: tree: program " << program.id() << "'s host ("
                  << program.admin_socket()
                  << "): " << PrintableOnly(status.error_message())
                  << "; its programs are not drawn\n";
        continue;
      }
      host.via_host = h;
      host.via_program = p;
      if (!Known(hosts, host.name)) hosts.push_back(std::move(host));
    }
  }
  const std::vector<Place> places = PlaceHosts(hosts);
  TreePrinter printer(hosts, places);
  if (FLAGS_json) {
    std::cout << printer.Json() << "\n";
  } else {
    printer.PrintText();
  }
  return 0;
}

}  // namespace taoctl
}  // namespace tao
