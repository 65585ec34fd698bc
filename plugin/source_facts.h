// source_facts.h — what the plugin's front end learns of a translation unit (SourceFacts), kept
// for the whole compilation and handed to the C passes through plugin.h's structs, and the
// collectors that fill it: register.cpp runs them, each lives in its own file.
#ifndef HP_SOURCE_FACTS_H
#define HP_SOURCE_FACTS_H

#include "clang/AST/ASTContext.h"
#include "clang/Lex/PPCallbacks.h"
#include "llvm/ADT/DenseSet.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "plugin.h"
}

namespace hotpatch {

// Everything the passes need from the front end, owned for the whole compilation.
struct SourceFacts {
  std::string MainFile, Producer, Options, Root;
  uint32_t TUFlags = 0;
  int Entry = HP_ENTRY_ATOMIC_SITE;  // enum hp_entry_mode
  std::vector<std::string> Exclude;
  std::vector<std::string> TypeNames;
  std::vector<hp_source_type> Types;
  struct Decl {
    bool IsFunction = false, IsLocal = false, IsReferenced = false;
    std::vector<uint32_t> Types;
    uint8_t Layout[16] = {}, Source[16] = {};
    std::vector<std::string> Callees;
    std::vector<const char *> CalleesC;
    std::vector<uint32_t> Lines;  // values its body took from __LINE__ (collectLines)
    uint8_t LinesFP[16] = {};
  };
  std::map<std::string, Decl> Decls;
  llvm::DenseSet<unsigned> LineSites;  // where the builtin __LINE__ was expanded (raw locations)

  // C views of the above, rebuilt by view().
  std::vector<const char *> ExcludeC;
  std::vector<hp_source_decl> DeclsC;
  hp_plugin_options OptionsC{};
  hp_source_info InfoC{};

  void view() {
    ExcludeC.clear();
    for (auto &E : Exclude)
      ExcludeC.push_back(E.c_str());
    OptionsC = {Root.empty() ? nullptr : Root.c_str(), ExcludeC.data(), ExcludeC.size(), Entry};
    for (size_t I = 0; I < Types.size(); ++I)
      Types[I].name = TypeNames[I].c_str();
    DeclsC.clear();
    for (auto &[Symbol, D] : Decls) {  // std::map iterates in name order, as required
      D.CalleesC.clear();
      for (const std::string &C : D.Callees)
        D.CalleesC.push_back(C.c_str());
      hp_source_decl C{Symbol.c_str(), D.IsFunction, D.IsLocal,         D.IsReferenced,
                       D.Types.data(),  D.Types.size(), {},              {},
                       D.CalleesC.data(), D.CalleesC.size(), D.Lines.data(), D.Lines.size(), {}};
      memcpy(C.layout, D.Layout, 16);
      memcpy(C.source_fingerprint, D.Source, 16);
      memcpy(C.lines_fingerprint, D.LinesFP, 16);
      DeclsC.push_back(C);
    }
    InfoC = {MainFile.empty() ? nullptr : MainFile.c_str(), Producer.c_str(), Options.c_str(),
             TUFlags, Types.data(), Types.size(), DeclsC.data(), DeclsC.size()};
  }
};

// decl_facts.cpp: per function and variable, the records it uses (with their layouts, from
// record_layouts.cpp), its same-file callees and its source fingerprint; fills Types and Decls.
void collectDeclFacts(clang::ASTContext &Ctx, SourceFacts &Facts);

// line_facts.cpp: the preprocessor callback that notes where __LINE__ is expanded (into
// LineSites), and the walk that then gives each function with a body its Lines and LinesFP.
// collectLines runs after collectDeclFacts: it fills only functions that one has recorded.
std::unique_ptr<clang::PPCallbacks> recordLineSites(std::shared_ptr<SourceFacts> Facts);
void collectLines(clang::ASTContext &Ctx, SourceFacts &Facts);

} // namespace hotpatch

#endif
