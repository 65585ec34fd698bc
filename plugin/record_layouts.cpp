// record_layouts.cpp — records by layout (record_layouts.h): which records a type reaches, the
// text each record's layout is hashed from, the unit's type table and layout fingerprints.
#include "record_layouts.h"

#include "clang/AST/DeclCXX.h"
#include "clang/AST/RecordLayout.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <xxhash.h>

using namespace clang;

namespace hotpatch {

unsigned RecordLayouts::indexOf(const RecordDecl *RD) {
  auto [It, Fresh] = RecordIndex.emplace(RD, RecordList.size());
  if (Fresh)
    RecordList.push_back(RD);
  return It->second;
}

void RecordLayouts::addType(RecordSet &Records, QualType T) {
  for (int Depth = 0; !T.isNull() && Depth < 64; ++Depth) {
    T = T.getCanonicalType();
    if (auto *PT = T->getAs<PointerType>()) {
      T = PT->getPointeeType();
    } else if (auto *AT = dyn_cast<ArrayType>(T.getTypePtr())) {
      T = AT->getElementType();
    } else if (auto *FT = T->getAs<FunctionProtoType>()) {
      for (QualType P : FT->param_types())
        addType(Records, P);
      T = FT->getReturnType();
    } else {
      break;
    }
  }
  const RecordType *RT = T.isNull() ? nullptr : T->getAs<RecordType>();
  if (!RT)
    return;
  const RecordDecl *RD = RT->getDecl()->getDefinition();
  // Only a record Clang can lay out: never a template's pattern, rejected or incomplete.
  if (!RD || RD->isInvalidDecl() || RD->isDependentType() || !RD->isCompleteDefinition() ||
      !Records.insert(indexOf(RD)))
    return;
  if (auto *CXX = dyn_cast<CXXRecordDecl>(RD))  // base classes are part of the layout
    for (const CXXBaseSpecifier &B : CXX->bases())
      addType(Records, B.getType());
  for (const FieldDecl *F : RD->fields()) {
    QualType FT = F->getType().getCanonicalType();
    while (auto *AT = dyn_cast<ArrayType>(FT.getTypePtr()))
      FT = AT->getElementType().getCanonicalType();
    if (FT->getAs<RecordType>())
      addType(Records, FT);
  }
}

std::vector<uint32_t> RecordLayouts::table(const RecordSet &Used, SourceFacts &Facts) {
  // The type table is ordered by name and layout, never by pointer: output must not depend
  // on where the allocator put things.
  struct Entry {
    std::string Name;
    hp_source_type T;
    unsigned Number;
  };
  std::vector<Entry> Table;
  Used.each([&](unsigned I) {
    Entry E{{}, {}, I};
    layoutOf(RecordList[I], E.Name, E.T);
    Table.push_back(std::move(E));
  });
  std::sort(Table.begin(), Table.end(), [](const Entry &A, const Entry &B) {
    return A.Name != B.Name ? A.Name < B.Name : memcmp(A.T.layout, B.T.layout, 16) < 0;
  });
  std::vector<uint32_t> Index(RecordList.size());
  for (const Entry &E : Table) {
    Index[E.Number] = (uint32_t)Facts.Types.size();
    Facts.TypeNames.push_back(E.Name);
    Facts.Types.push_back(E.T);
  }
  return Index;
}

void RecordLayouts::fingerprint(const RecordSet &Records, const std::vector<uint32_t> &TableIndex,
                                const SourceFacts &Facts, uint8_t Out[16]) const {
  std::vector<uint32_t> All;
  Records.each([&](unsigned I) { All.push_back(TableIndex[I]); });
  std::sort(All.begin(), All.end());
  std::string Text;
  for (uint32_t I : All) {
    Text += Facts.TypeNames[I];
    Text.push_back('\0');
    Text.append((const char *)Facts.Types[I].layout, 16);
  }
  if (!All.empty()) {
    XXH128_canonical_t C;
    XXH128_canonicalFromHash(&C, XXH3_128bits(Text.data(), Text.size()));
    memcpy(Out, C.digest, 16);
  }
}

// A record's identity is its tag and name; its layout is every field's name, type, offset
// and bit width, plus size and alignment.  An anonymous record is known by its layout.
// Nothing may depend on source locations: Clang prints an anonymous type as "(unnamed
// struct at file:line)", so types are printed without locations, and an anonymous record
// nested by value contributes its own layout instead of its name.
std::string RecordLayouts::layoutText(const RecordDecl *RD, int Depth) {
  const ASTRecordLayout &L = Ctx.getASTRecordLayout(RD);
  PrintingPolicy Policy(Ctx.getLangOpts());
  Policy.AnonymousTagLocations = false;
  std::string Text = RD->isUnion() ? "union" : "struct";
  Text += " size=" + std::to_string(L.getSize().getQuantity()) +
          " align=" + std::to_string(L.getAlignment().getQuantity());
  if (auto *CXX = dyn_cast<CXXRecordDecl>(RD)) {  // C++: bases and the vtable pointer
    if (CXX->isDynamicClass())
      Text += L.hasOwnVFPtr() ? " vptr" : " dynamic";
    for (const CXXBaseSpecifier &B : CXX->bases()) {
      const CXXRecordDecl *Base = B.getType()->getAsCXXRecordDecl();
      if (!Base)
        continue;
      CharUnits Off = B.isVirtual() ? L.getVBaseClassOffset(Base) : L.getBaseClassOffset(Base);
      Text += std::string("\n") + (B.isVirtual() ? "virtual " : "") + "base:" +
              B.getType().getCanonicalType().getAsString(Policy) + "@" +
              std::to_string(Off.getQuantity());
    }
  }
  unsigned I = 0;
  for (const FieldDecl *F : RD->fields()) {
    QualType FT = F->getType().getCanonicalType();
    Text += "\n" + F->getName().str() + ":" + FT.getAsString(Policy) + "@" +
            std::to_string(L.getFieldOffset(I++));
    if (F->isBitField())
      Text += ":" + std::to_string(F->getBitWidthValue(Ctx));
    while (auto *AT = dyn_cast<ArrayType>(FT.getTypePtr()))
      FT = AT->getElementType().getCanonicalType();
    if (const RecordType *RT = FT->getAs<RecordType>()) {
      const RecordDecl *Inner = RT->getDecl()->getDefinition();
      if (Inner && Inner->getName().empty() && !Inner->getTypedefNameForAnonDecl() && Depth < 16)
        Text += "{" + layoutText(Inner, Depth + 1) + "}";
    }
  }
  return Text;
}

void RecordLayouts::layoutOf(const RecordDecl *RD, std::string &Name, hp_source_type &T) {
  std::string Text = layoutText(RD);
  XXH128_hash_t H = XXH3_128bits(Text.data(), Text.size());
  XXH128_canonical_t C;
  XXH128_canonicalFromHash(&C, H);
  memcpy(T.layout, C.digest, 16);
  T.size = (uint32_t)Ctx.getASTRecordLayout(RD).getSize().getQuantity();
  std::string Tag = RD->isUnion() ? "union " : "struct ";
  if (!RD->getName().empty() && isa<CXXRecordDecl>(RD) && Ctx.getLangOpts().CPlusPlus) {
    // C++: qualified, with template arguments, so that vector<int> is not vector<char>.
    PrintingPolicy Policy(Ctx.getLangOpts());
    Policy.AnonymousTagLocations = false;
    Policy.SuppressTagKeyword = true;
    Name = Tag + Ctx.getRecordType(RD).getCanonicalType().getAsString(Policy);
  } else if (!RD->getName().empty())
    Name = Tag + RD->getName().str();
  else if (const TypedefNameDecl *TD = RD->getTypedefNameForAnonDecl())
    Name = Tag + TD->getName().str();
  else {
    char Hex[17];
    snprintf(Hex, sizeof Hex, "%016llx", (unsigned long long)H.high64);
    Name = Tag + "<anonymous " + Hex + ">";
  }
  // A record declared inside a function is known by that function too: two functions (or two
  // instantiations of one template) may each declare their own "struct L".
  if (auto *FD = dyn_cast_or_null<FunctionDecl>(RD->getParentFunctionOrMethod()))
    Name += " in " + Names.symbolsOf(FD)[0];
}

} // namespace hotpatch
