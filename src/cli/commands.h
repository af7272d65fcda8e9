#pragma once
// The `ridge` subcommands. Each takes the arguments after its name and returns
// the process exit code; errors are printed to stderr, never thrown out.
namespace ridge::cli {

int cmd_run(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_gen_model(int argc, char** argv);

}  // namespace ridge::cli
