// cmd_generate.c — `toolformer generate`: decoding from a prompt with a KV cache.
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tf_infer.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer generate --model DIR (--ids 1,2,3 | --prompt TEXT) [--max-new N]\n"
            "                           [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
            "                           [--stop-at-eos] [--json] [--threads N] [--dtype fp32|bf16] [--mmap|--mmap-copy]\n"
            "                           [--adapter DIR]\n\n"
            "Greedy decoding unless --temperature > 0 is given (then sampling, seeded).\n"
            "  --max-new N      tokens to generate (default 32)\n"
            "  --temperature T  sampling temperature (0: greedy)\n"
            "  --top-k K        sample among the K most likely tokens\n"
            "  --top-p P        nucleus sampling: the smallest set with probability >= P\n"
            "  --seed S         random seed (default 1)\n"
            "  --stop-at-eos    stop when the end-of-text token is generated\n"
            "  --json           print {\"prompt_ids\", \"ids\", \"text\"} (text with a tokenizer); with tools\n"
            "                   {\"text\", \"ids\", \"calls\": [{\"tool\", \"input\", \"result\", \"pos\"}]}\n"
            "  --dtype D        matmul precision: fp32 (default) or bf16 (bf16 matmuls, fp32 accumulation)\n"
            "  --mmap           keep the weight matrices in the file's dtype inside the read-only mapping\n"
            "                   (no fp32 copy: big checkpoints; BF16 files compute in bf16)\n"
            "  --mmap-copy      as --mmap, but the file is read into the process's own memory instead of\n"
            "                   mapped: decoding streams it faster; that memory cannot be reclaimed\n"
            "  --adapter DIR    apply a LoRA adapter in PEFT's format (e.g. from finetune --lora)\n\n"
            "With tools (--tools/--tool; needs --prompt): decoding starts a call whenever \" [\" is among\n"
            "the --api-top-k most likely tokens, stops at \"->\", runs the tool, inserts \" result]\" and\n"
            "goes on (Toolformer, section 4.2). The text streams to stdout as it is decided. The options\n"
            "below need a tool; without one they are an error.\n"
            "  --api-top-k K    (default 10)      --max-calls N  calls per input (default 1)\n"
            "  --disable-tools  p(\" [\") = 0 (Toolformer disabled)   --no-tools  plain decoding\n"
            "  --date D         the document's date for the Calendar\n"
            "  --stop-at-newline  stop at the first newline outside a call\n"
            CLI_TOOL_HELP);
}

static void stream_text(void *ctx, const char *text, size_t len) {
    (void)ctx;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

// The model for inference: mapped in its file dtype, or loaded to fp32 and set to dtype.
static const char *adapter_dir;  // --adapter

static tf_model *load_model(const char *dir, int mapped, tf_dtype dtype, tf_error *err) {
    cli_model_opts mo = {dtype, mapped, adapter_dir};
    return cli_load_model(dir, &mo, err);
}

// Generation with tools: the text path through tf_generate_with_tools.
static int generate_tools(const char *model_dir, const char *prompt, const cli_tools *ct, const tf_toolgen_options *o,
                          const char *date, int json, int mapped, tf_dtype dtype) {
    tf_error err = {0};
    tf_toolset set = {0};
    tf_model *m = NULL;
    tf_toolgen_result res = {0};
    int rc = CLI_OK;
    const tf_tokenizer *tok = cli_tokenizer(model_dir, &err);
    if (!tok || cli_tools_build(ct, &set, 0, &err) || !(m = load_model(model_dir, mapped, dtype, &err))) goto fail;
    tf_toolgen_options opt = *o;
    if (!json) opt.on_text = stream_text;
    tf_tool_context ctx = {date};
    if (tf_generate_with_tools(m, tok, &set, &ctx, prompt, &opt, &res, &err)) goto fail;
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_string(&j, "text", res.text);
        cli_json_ids(&j, "ids", res.ids, res.n_ids);
        cli_json_array(&j, "calls");
        for (int i = 0; i < res.n_calls; i++) {
            cli_json_object(&j, NULL);
            cli_json_string(&j, "tool", res.calls[i].tool);
            cli_json_string(&j, "input", res.calls[i].input);
            cli_json_string(&j, "result", res.calls[i].result);
            cli_json_uint(&j, "pos", res.calls[i].text_pos);
            cli_json_close(&j);
        }
        rc = cli_json_end(&j, "generate");
    } else {
        printf("\n");
    }
    goto done;
fail:
    rc = cli_fail(&err);
done:
    tf_toolgen_result_free(&res);
    tf_toolset_free(&set);
    tf_model_free(m);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},       {"ids", 1, 0, 'i'},    {"prompt", 1, 0, 'p'}, {"max-new", 1, 0, 'n'},
        {"temperature", 1, 0, 'T'}, {"top-k", 1, 0, 'k'},  {"top-p", 1, 0, 'P'},  {"seed", 1, 0, 's'},
        {"json", 0, 0, 'j'},        {"threads", 1, 0, 't'}, {"stop-at-eos", 0, 0, 'e'}, {"help", 0, 0, 'h'},
        {"api-top-k", 1, 0, 'K'},   {"max-calls", 1, 0, 'C'}, {"disable-tools", 0, 0, 'D'}, {"no-tools", 0, 0, 'N'},
        {"date", 1, 0, 'd'},        {"stop-at-newline", 0, 0, 'L'}, {"dtype", 1, 0, 'Y'}, {"mmap", 0, 0, 'M'}, {"mmap-copy", 0, 0, CLI_OPT_MMAP_COPY}, {"adapter", 1, 0, 'Q'},
        CLI_TOOL_OPTIONS,
        {0, 0, 0, 0}};
    const char *model_dir = NULL, *ids_arg = NULL, *prompt = NULL;
    long max_new = 32, top_k = 0, seed = 1, threads = 0, v;
    double temperature = 0.0, top_p = 1.0;
    int json = 0, stop_eos = 0, c, h, stop_nl = 0, mapped = 0;
    tf_dtype dtype = TF_DTYPE_FP32;
    const char *date = NULL, *tool_only = NULL;  // the first option that only means something with tools
    cli_tools tools = {0};
    tf_toolgen_options to;
    tf_toolgen_defaults(&to);
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((h = cli_tools_option(&tools, c, optarg, "generate"))) {
            if (h < 0) return CLI_USAGE;
            continue;
        }
        switch (c) {
        case 'K': if (!tool_only) tool_only = "--api-top-k"; if (cli_int(optarg, 0, 1 << 20, &v)) return cli_usage_error("generate", "--api-top-k wants an integer >= 0"); to.api_top_k = (int)v; break;
        case 'C': if (!tool_only) tool_only = "--max-calls"; if (cli_int(optarg, 0, 16, &v)) return cli_usage_error("generate", "--max-calls wants 0..16"); to.max_calls = (int)v; break;
        case 'D': if (!tool_only) tool_only = "--disable-tools"; to.disable = 1; break;
        case 'N': to.no_tools = 1; break;
        case 'd': if (!tool_only) tool_only = "--date"; date = optarg; break;
        case 'L': if (!tool_only) tool_only = "--stop-at-newline"; stop_nl = 1; break;
        case 'm': model_dir = optarg; break;
        case 'i': ids_arg = optarg; break;
        case 'p': prompt = optarg; break;
        case 'n': if (cli_int(optarg, 0, 1 << 20, &max_new)) return cli_usage_error("generate", "--max-new wants 0..1048576"); break;
        case 'T': if (cli_float(optarg, &temperature) || temperature < 0) return cli_usage_error("generate", "--temperature wants a number >= 0"); break;
        case 'k': if (cli_int(optarg, 0, 1 << 30, &top_k)) return cli_usage_error("generate", "--top-k wants an integer >= 0"); break;
        case 'P': if (cli_float(optarg, &top_p) || top_p <= 0 || top_p > 1) return cli_usage_error("generate", "--top-p wants 0 < P <= 1"); break;
        case 's': if (cli_int(optarg, 0, 1L << 62, &seed)) return cli_usage_error("generate", "--seed wants an integer >= 0"); break;
        case 'j': json = 1; break;
        case 'e': stop_eos = 1; break;
        case 't': if (cli_int(optarg, 1, 1024, &threads)) return cli_usage_error("generate", "--threads wants 1..1024"); break;
        case 'Y': if (tf_dtype_parse(optarg, &dtype)) return cli_usage_error("generate", "--dtype wants fp32 or bf16"); break;
        case 'M': mapped = 1; break;
        case CLI_OPT_MMAP_COPY: mapped = 2; break;
        case 'Q': adapter_dir = optarg; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("generate", "unknown option");
        }
    }
    if (cli_no_arguments("generate", argc, argv, optind)) return CLI_USAGE;
    if (!model_dir) return cli_usage_error("generate", "--model is required");
    if (!ids_arg == !prompt) return cli_usage_error("generate", "give exactly one of --ids and --prompt");
    if (prompt && !*prompt) return cli_usage_error("generate", "--prompt is empty: give some text to continue");
    if (tool_only && !tools.list && !tools.n_external)
        return cli_usage_error("generate", "%s is a tool option, but no tool is selected: add --tools LIST (or --tool "
                               "NAME=CMD), or drop %s", tool_only, tool_only);
    if (tools.tool_only && !tools.list && !tools.n_external)
        return cli_usage_error("generate", "%s is a tool option, but no tool is selected: add --tools LIST (or --tool "
                               "NAME=CMD), or drop %s", tools.tool_only, tools.tool_only);
    tf_set_threads((int)threads);
    if (tools.list || tools.n_external) {
        if (!prompt) return cli_usage_error("generate", "generation with tools needs --prompt TEXT");
        to.max_new = (int)max_new;
        to.sampler = (tf_sampler){(float)temperature, (int)top_k, (float)top_p};
        to.seed = (uint64_t)seed;
        to.stop_at_eos = stop_eos;
        to.stop_at_newline = stop_nl;
        return generate_tools(model_dir, prompt, &tools, &to, date, json, mapped, dtype);
    }
    tf_error err = {0};
    int n = 0, *ids = ids_arg ? cli_parse_ids(ids_arg, &n, &err) : NULL;
    if (prompt && cli_encode(model_dir, prompt, &ids, &n, &err)) return cli_fail(&err);
    if (!ids) return cli_fail(&err);
    tf_model *m = load_model(model_dir, mapped, dtype, &err);
    tf_kv *kv = NULL;
    int *out = NULL, n_out = 0, rc = CLI_OK;
    float *logits = NULL;
    if (!m) goto fail;
    if (n + max_new > m->cfg.n_positions) {
        tf_errorf(&err, TF_EBADARG, "prompt (%d tokens) + --max-new %ld exceeds the model's context of %d", n,
                  max_new, m->cfg.n_positions);
        goto fail;
    }
    int V = m->cfg.vocab_size;
    kv = tf_kv_new(m, 1, n + (int)max_new, &err);
    logits = malloc(sizeof(float) * V);
    out = malloc(sizeof(int) * (max_new + 1));
    if (!kv || !logits || !out) {
        if (kv) tf_errorf(&err, TF_ENOMEM, "out of memory");
        goto fail;
    }
    if (tf_model_prefill(m, kv, 0, ids, n, logits, 0, &err)) goto fail;
    tf_sampler smp = {(float)temperature, (int)top_k, (float)top_p};
    tf_rng rng;
    tf_rng_seed(&rng, (uint64_t)seed);
    int seq = 0;
    for (long i = 0; i < max_new; i++) {
        int tok = tf_sample(logits, V, &smp, &rng);
        out[n_out++] = tok;
        if (stop_eos && tok == m->cfg.eos_token_id) break;
        if (i + 1 < max_new && tf_model_decode(m, kv, &seq, &tok, 1, logits, &err)) goto fail;
    }
    char *text = cli_has_tokenizer(model_dir) ? cli_decode(model_dir, out, n_out, &err) : NULL;
    if (json) {
        printf("{\"prompt_ids\": ");
        cli_print_ids_json(stdout, ids, n);
        printf(", \"ids\": ");
        cli_print_ids_json(stdout, out, n_out);
        if (text) {
            printf(", \"text\": ");
            cli_print_json_string(stdout, text);
        }
        printf("}\n");
    } else if (text) {
        printf("%s\n", text);
    } else {
        for (int i = 0; i < n_out; i++) printf("%s%d", i ? "," : "", out[i]);
        printf("\n");
    }
    free(text);
    goto done;
fail:
    rc = cli_fail(&err);
done:
    free(ids);
    free(out);
    free(logits);
    tf_kv_free(kv);
    tf_model_free(m);
    return rc;
}
