#include "channels/program_table.h"

#include <utility>

namespace tao {

ProgramEntry& ProgramTable::Add(std::unique_ptr<ProgramEntry> entry) {
  ProgramEntry& added = *entry;
  ++running_;
  entries_.emplace(added.id, std::move(entry));
  return added;
}

ProgramEntry* ProgramTable::Find(uint64_t id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.get();
}

const ProgramEntry* ProgramTable::Find(uint64_t id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.get();
}

std::vector<uint64_t> ProgramTable::MarkExited(ProgramEntry& entry) {
  entry.state = ProgramState::kExited;
  --running_;
  std::vector<uint64_t> forgotten;
  size_t exited = entries_.size() - running_;
  for (auto it = entries_.begin();
       exited > max_exited_ && it != entries_.end();) {
    if (it->second->state == ProgramState::kExited) {
      forgotten.push_back(it->first);
      it = entries_.erase(it);
      --exited;
    } else {
      ++it;
    }
  }
  return forgotten;
}

std::set<pid_t> ProgramTable::LivePids() const {
  std::set<pid_t> pids;
  for (const auto& [id, entry] : entries_) {
    if (entry->program != nullptr) pids.insert(entry->pid);
  }
  return pids;
}

ChildInfo ProgramTable::InfoOf(const ProgramEntry& c) {
  ChildInfo info;
  info.id = c.id;
  info.name = c.name.text();
  info.pid = c.pid;
  info.factory = c.factory;
  info.channel = c.channel;
  info.state = c.state;
  info.started = c.started;
  info.exit = c.exit;
  info.exit_detail = c.exit_detail;
  if (c.connection != nullptr) {
    info.calls = c.connection->calls();
    info.denials = c.connection->denials();
  }
  info.log_path = c.log_path;
  info.path = LaunchTarget(c.request.spec);
  info.frozen = c.program != nullptr && c.program->frozen();
  info.restart = c.request.restart.mode;
  info.restarts = c.restarts;
  info.previous_id = c.previous_id;
  info.confinement = c.confinement;
  return info;
}

std::vector<ChildInfo> ProgramTable::List() const {
  std::vector<ChildInfo> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(InfoOf(*entry));
  return out;
}

}  // namespace tao
