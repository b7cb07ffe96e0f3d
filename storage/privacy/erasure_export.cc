// The erasure export queue (storage/privacy/erasure_export.h is the contract).
#include "storage/privacy/erasure_export.h"

#include <algorithm>
#include <memory>

#include <rocksdb/iterator.h>

#include "proto/coding.h"
#include "storage/log/keys.h"

namespace foothold::storage {

std::string ErasureExportKey(uint64_t number) {
  std::string k = kMetaErasureExport;
  PutBe64(number, &k);
  return k;
}

std::string EncodeErasureExport(uint64_t erasure_id, std::vector<uint64_t> seqs) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::string v;
  proto::PutVarint64(&v, erasure_id);
  proto::PutVarint64(&v, seqs.size());
  uint64_t prev = 0;
  for (uint64_t s : seqs) {
    proto::PutVarint64(&v, s - prev);
    prev = s;
  }
  return v;
}

bool DecodeErasureExport(std::string_view v, ErasureExport* out) {
  uint64_t n = 0;
  if (!proto::GetVarint64(&v, &out->erasure_id) || !proto::GetVarint64(&v, &n)) return false;
  if (n > v.size()) return false;  // every delta takes at least one byte
  out->seqs.clear();
  out->seqs.reserve(n);
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = 0;
    if (!proto::GetVarint64(&v, &d) || (i > 0 && d == 0)) return false;
    prev += d;
    out->seqs.push_back(prev);
  }
  return v.empty();
}

Status ReadErasureExports(const Database& db, size_t limit, std::vector<ErasureExport>* out) {
  out->clear();
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.meta()));
  const rocksdb::Slice prefix(kMetaErasureExport);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && (limit == 0 || out->size() < limit);
       it->Next()) {
    ErasureExport e;
    std::string_view key(it->key().data(), it->key().size());
    if (key.size() != prefix.size() + 8 ||
        !DecodeErasureExport(std::string_view(it->value().data(), it->value().size()), &e)) {
      return Status::Corruption("erasure export: malformed entry in " + db.dir());
    }
    e.number = GetBe64(key.substr(prefix.size()));
    out->push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read erasure export queue in " + db.dir());
  return Status::Ok();
}

}  // namespace foothold::storage
