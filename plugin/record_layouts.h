// record_layouts.h — the records (structs, unions, C++ classes) a declaration depends on and
// their layouts as the AST knows them: what hazard 20's layout fingerprints are made of.
// decl_facts.cpp decides which types each declaration meets; this file turns them into records,
// the unit's type table and each declaration's layout fingerprint.
#ifndef HP_RECORD_LAYOUTS_H
#define HP_RECORD_LAYOUTS_H

#include "clang/AST/ASTContext.h"

#include <map>
#include <string>
#include <vector>

#include "ast_symbols.h"
#include "source_facts.h"

namespace hotpatch {

// A set of records as bits over the unit's records, numbered as first met: the callee closure
// unions these along every call edge, which must stay cheap in units of thousands of functions.
struct RecordSet {
  std::vector<uint64_t> Bits;
  bool insert(unsigned I) {
    if (Bits.size() <= I / 64)
      Bits.resize(I / 64 + 1);
    uint64_t Bit = uint64_t(1) << (I % 64);
    bool Fresh = !(Bits[I / 64] & Bit);
    Bits[I / 64] |= Bit;
    return Fresh;
  }
  bool merge(const RecordSet &O) {  // true when it grew
    if (Bits.size() < O.Bits.size())
      Bits.resize(O.Bits.size());
    bool Grew = false;
    for (size_t W = 0; W < O.Bits.size(); ++W) {
      Grew |= (O.Bits[W] & ~Bits[W]) != 0;
      Bits[W] |= O.Bits[W];
    }
    return Grew;
  }
  template <typename F> void each(F Fn) const {
    for (size_t W = 0; W < Bits.size(); ++W)
      for (uint64_t B = Bits[W]; B; B &= B - 1)
        Fn(unsigned(W * 64 + __builtin_ctzll(B)));
  }
};

class RecordLayouts {
public:
  RecordLayouts(clang::ASTContext &Ctx, SymbolNames &Names) : Ctx(Ctx), Names(Names) {}

  // Adds to Records those reachable from T by value or through pointers and arrays; a record's
  // by-value members count too, since their layout is part of it.
  void addType(RecordSet &Records, clang::QualType T);

  // Appends the records of Used to Facts.Types (and TypeNames), ordered by name and layout;
  // returns, per record number, its index in that table.
  std::vector<uint32_t> table(const RecordSet &Used, SourceFacts &Facts);

  // XXH3-128 over the name and layout of each of Records, in table order; left alone when
  // Records is empty.
  void fingerprint(const RecordSet &Records, const std::vector<uint32_t> &TableIndex,
                   const SourceFacts &Facts, uint8_t Out[16]) const;

private:
  clang::ASTContext &Ctx;
  SymbolNames &Names;
  std::map<const clang::RecordDecl *, unsigned> RecordIndex;  // numbering for RecordSet
  std::vector<const clang::RecordDecl *> RecordList;

  unsigned indexOf(const clang::RecordDecl *RD);
  std::string layoutText(const clang::RecordDecl *RD, int Depth = 0);
  void layoutOf(const clang::RecordDecl *RD, std::string &Name, hp_source_type &T);
};

} // namespace hotpatch

#endif
