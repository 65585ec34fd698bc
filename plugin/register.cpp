// register.cpp — the plugin's C++ glue: how Clang and LLVM find the plugin, its arguments, the
// code generation options it forces, and the order in which the front end's collectors run
// (source_facts.h names them).  Everything that works on IR is C (pass.c, fingerprint.c); the
// collectors that read the AST live in their own files; this file stays as thin as Clang allows.

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/Basic/Version.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendPluginRegistry.h"
#include "clang/Lex/Preprocessor.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/FileSystem.h"

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "hp_meta.h"
#include "plugin.h"
}

#include "source_facts.h"
#include "source_paths.h"

using namespace clang;
using hotpatch::SourceFacts;

#ifndef HOTPATCH_VERSION
#error "HOTPATCH_VERSION must come from CMake (project version)"
#endif

namespace {

// Set once a -fplugin front end is active in this compiler process, so that the -fpass-plugin
// registration of the same library stands aside instead of running the passes twice.
bool FrontEndActive = false;

// ---- The AST: what the front end learns once the unit is parsed --------------------------

// Runs the collectors in their order: collectLines fills only the functions collectDeclFacts
// recorded; the C views are rebuilt last, once nothing moves any more.
class SourceFactsConsumer : public ASTConsumer {
public:
  explicit SourceFactsConsumer(std::shared_ptr<SourceFacts> Facts) : Facts(std::move(Facts)) {}
  void HandleTranslationUnit(ASTContext &Ctx) override {
    hotpatch::collectDeclFacts(Ctx, *Facts);
    hotpatch::collectLines(Ctx, *Facts);
    Facts->view();
  }

private:
  std::shared_ptr<SourceFacts> Facts;
};

// ---- The passes ----------------------------------------------------------------------------

struct FinishPass : llvm::PassInfoMixin<FinishPass> {
  std::shared_ptr<SourceFacts> Facts;  // null for IR inputs
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &) {
    static const hp_plugin_options Defaults{};
    char Err[512] = "";
    if (hp_plugin_finish(llvm::wrap(&M), Facts ? &Facts->OptionsC : &Defaults,
                         Facts ? &Facts->InfoC : nullptr, Err, sizeof Err) != 0)
      M.getContext().emitError(llvm::Twine("hotpatch: ") + Err);
    return llvm::PreservedAnalyses::none();
  }
  static bool isRequired() { return true; }
};

void registerPasses(llvm::PassBuilder &PB, std::shared_ptr<SourceFacts> Facts) {
  PB.registerOptimizerLastEPCallback(
      [Facts](llvm::ModulePassManager &MPM, llvm::OptimizationLevel) {
        MPM.addPass(FinishPass{{}, Facts});
      });
}

// ---- The front-end action ------------------------------------------------------------------

class HotpatchAction : public PluginASTAction {
  std::shared_ptr<SourceFacts> Facts = std::make_shared<SourceFacts>();

protected:
  bool ParseArgs(const CompilerInstance &CI, const std::vector<std::string> &Args) override {
    DiagnosticsEngine &D = CI.getDiagnostics();
    for (const std::string &Arg : Args) {
      size_t Eq = Arg.find('=');
      std::string Key = Arg.substr(0, Eq), Value = Eq == std::string::npos ? "" : Arg.substr(Eq + 1);
      if (Key == "version" && Value.empty()) {
        // To stdout, like clang --version; the compilation goes on.
        llvm::outs() << "hotpatch plugin " HOTPATCH_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
        llvm::outs().flush();
      } else if (Key == "root") {
        // A mistyped root would silently give other source identities than the release had.
        if (Value.empty() || !llvm::sys::fs::is_directory(Value)) {
          D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                     "hotpatch: root='%0': %1"))
              << Value << (Value.empty() ? "no directory given" : "no such directory");
          return false;
        }
        Facts->Root = Value;
      } else if (Key == "exclude") {
        for (size_t I = 0; I <= Value.size();) {
          size_t Comma = std::min(Value.find(',', I), Value.size());
          if (Comma > I)
            Facts->Exclude.push_back(Value.substr(I, Comma - I));
          I = Comma + 1;
        }
      } else if (Key == "entry") {
        // plugin.h, enum hp_entry_mode: what each layout costs and what it allows.
        if (Value == "atomic-site") {
          Facts->Entry = HP_ENTRY_ATOMIC_SITE;
        } else if (Value == "padding-only") {
          Facts->Entry = HP_ENTRY_PADDING_ONLY;
        } else {
          D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                     "hotpatch: entry='%0': expected atomic-site (the default: every "
                                     "function switchable while the program runs) or padding-only (no "
                                     "executed no-op; functions starting with a 1-byte instruction "
                                     "switchable only with every thread stopped)"))
              << Value;
          return false;
        }
      } else {
        D.Report(D.getCustomDiagID(DiagnosticsEngine::Error,
                                   "hotpatch: unknown plugin argument '%0' (known: root=DIR, "
                                   "exclude=NAME[,NAME...], entry=atomic-site|padding-only, version)"))
            << Arg;
        return false;
      }
    }
    return true;
  }

  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &CI, StringRef) override {
    FrontEndActive = true;
    CodeGenOptions &CG = CI.getCodeGenOpts();
    // One section per function and variable: hpdiff reads each symbol's code and relocations
    // from its own section, and unused code can be dropped without touching its neighbours.
    CG.FunctionSections = true;
    CG.DataSections = true;
    if (CG.PrepareForLTO || CG.PrepareForThinLTO)
      Facts->TUFlags |= HP_META_TU_LTO;

    const FrontendInputFile &In = CI.getFrontendOpts().Inputs.front();
    Facts->MainFile = In.isFile() ? In.getFile().str() : "<stdin>";
    Facts->Producer = getClangFullVersion();
    Facts->Options = describeOptions(CI);
    // The entry layout shapes every function's code: a unit built one way is not compared with
    // one built the other (hpdiff refuses units whose options differ).  The default adds
    // nothing, so that units built before the option existed keep their options.
    if (Facts->Entry == HP_ENTRY_PADDING_ONLY)
      Facts->Options += " hotpatch-entry=padding-only";
    Facts->view();
    if (In.isFile())
      mapPathsToRoot(CI, Facts->MainFile, Facts->Root);

    CI.getPreprocessor().addPPCallbacks(hotpatch::recordLineSites(Facts));
    auto F = Facts;
    CG.PassBuilderCallbacks.push_back([F](llvm::PassBuilder &PB) { registerPasses(PB, F); });
    return std::make_unique<SourceFactsConsumer>(Facts);
  }

  ActionType getActionType() override { return AddBeforeMainAction; }

private:
  // __FILE__ and __builtin_FILE() name the file as the compiler was given it: an absolute path
  // (CMake passes those) would make two checkouts differ in every function with an assert.  So
  // paths under the project root expand relative to it, as -fmacro-prefix-map=ROOT/= would;
  // the preprocessor has not started yet, so this covers the main file and every header.  A
  // mapping the user gave for the same directory wins.  No root in common ("/"): no mapping.
  static void mapPathsToRoot(CompilerInstance &CI, const std::string &MainFile,
                             const std::string &Root) {
    char *Dir = hp_source_root(MainFile.c_str(), Root.empty() ? nullptr : Root.c_str());
    if (Dir && strcmp(Dir, "/") != 0) {
      CI.getLangOpts().MacroPrefixMap.emplace(std::string(Dir) + "/", "");
      // Out-of-tree builds (automake's VPATH, make -f ../src/Makefile) spell sources relative
      // to the build directory ("../src-1/app.c"): the root as seen from there maps too.
      if (char *Up = hp_path_from_cwd(Dir)) {
        if (*Up)
          CI.getLangOpts().MacroPrefixMap.emplace(std::string(Up) + "/", "");
        free(Up);
      }
    }
    free(Dir);
  }

  // The options that shape machine code without necessarily showing in every function's IR.
  static std::string describeOptions(const CompilerInstance &CI) {
    const CodeGenOptions &CG = CI.getCodeGenOpts();
    const TargetOptions &T = CI.getTargetOpts();
    const LangOptions &L = CI.getLangOpts();
    std::string S = CG.OptimizeSize == 1   ? std::string("Os")
                    : CG.OptimizeSize == 2 ? std::string("Oz")
                                           : "O" + std::to_string(CG.OptimizationLevel);
    S += " pic=" + std::to_string(L.PICLevel) + " pie=" + std::to_string(L.PIE);
    S += " reloc=" + std::to_string((int)CG.RelocationModel);
    S += " cmodel=" + CG.CodeModel;
    S += " frame-pointer=" + std::to_string((int)CG.getFramePointer());
    S += " cpu=" + T.CPU + " tune=" + T.TuneCPU + " abi=" + T.ABI;
    S += " cf-protection=" + std::to_string(CG.CFProtectionBranch) +
         std::to_string(CG.CFProtectionReturn);
    S += " features=";
    for (const std::string &F : T.FeaturesAsWritten)
      S += F + ",";
    // AArch64's branch protection (-mbranch-protection): landing pads and return-address
    // signing change every function's entry and exit.
    if (llvm::StringRef(T.Triple).starts_with("aarch64") || llvm::StringRef(T.Triple).starts_with("arm64"))
      S += " bti=" + std::to_string((int)L.BranchTargetEnforcement) +
           " pac-ret=" + std::to_string((int)L.getSignReturnAddressScope()) +
           std::to_string((int)L.getSignReturnAddressKey());
    return S;
  }
};

} // namespace

static FrontendPluginRegistry::Add<HotpatchAction>
    X("hotpatch", "patchable prologues and fingerprints for live patching");

// -fpass-plugin= entry: IR inputs and -save-temps have no AST action.
extern "C" LLVM_ATTRIBUTE_WEAK ::llvm::PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "hotpatch", HOTPATCH_VERSION, [](llvm::PassBuilder &PB) {
            if (!FrontEndActive)
              registerPasses(PB, nullptr);
          }};
}
