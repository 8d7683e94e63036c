import { LlamaGrammarEvaluationState, type Llama, type LlamaGrammar, type LlamaModel } from "node-llama-cpp";
import type { JsonSchema, OutputConstraint } from "../engine.js";
import { RequestRejectedError, type ToolCallFormat } from "../engine.js";
import { callGrammar, gbnfLiteral } from "./native-tools.js";

const MAX_CACHED = 64;
const INTEGER = '"-"? ("0" | [1-9] [0-9]{0,15})';

/** GBNF for "exactly one of these strings". */
function enumGrammar(values: string[]): string {
  return `root ::= ${values.map(gbnfLiteral).join(" | ")}`;
}

/**
 * Compiled grammars by constraint, so a schema sent with every request is compiled once.
 * Each generation gets its own evaluation state over the shared grammar.
 */
export class GrammarCache {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    /** The model's own function-calling format, for `function-call` constraints. */
    private readonly toolCallFormat?: ToolCallFormat,
  ) {}

  async stateFor(constraint: OutputConstraint): Promise<{ state: LlamaGrammarEvaluationState; stopTexts: string[] }> {
    const grammar = await this.grammarFor(constraint);
    return {
      state: new LlamaGrammarEvaluationState({ model: this.model, grammar }),
      stopTexts: grammar.stopGenerationTriggers.map((trigger) => trigger.toString()),
    };
  }

  grammarFor(constraint: OutputConstraint): Promise<LlamaGrammar> {
    const key = JSON.stringify(constraint);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.compile(constraint).catch((error: unknown) => {
        this.grammars.delete(key);
        throw new RequestRejectedError(`The output schema could not be turned into a grammar: ${(error as Error).message}`);
      });
      if (this.grammars.size >= MAX_CACHED) this.grammars.delete(this.grammars.keys().next().value as string);
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  private compile(constraint: OutputConstraint): Promise<LlamaGrammar> {
    switch (constraint.kind) {
      case "json":
        return this.llama.getGrammarFor("json");
      case "json-schema":
        return this.compileJsonSchema(constraint.schema);
      case "enum":
        return this.llama.createGrammar({ grammar: enumGrammar(constraint.values) });
      case "function-call":
        return this.compileCall(constraint.functions);
    }
  }

  private async compileCall(functions: Extract<OutputConstraint, { kind: "function-call" }>["functions"]): Promise<LlamaGrammar> {
    const format = this.toolCallFormat;
    if (!format) throw new Error("this model has no function-calling format of its own");
    const compiled = await Promise.all(functions.map(async (f) => ({ name: f.name, argsGrammar: (await this.compileJsonSchema(f.parameters)).grammar })));
    return this.llama.createGrammar({ grammar: callGrammar(format, compiled) });
  }

  /**
   * node-llama-cpp's rule for `integer` allows an exponent, so `-4e-10` could come out where an
   * integer is required; ours allows none (an exponent is never needed to write an integer).
   */
  private async compileJsonSchema(schema: JsonSchema): Promise<LlamaGrammar> {
    // The schema was checked and normalised by toGrammarSchema; its TS type is too deep to express here.
    const compiled = await this.llama.createGrammarForJsonSchema(schema as never);
    return this.llama.createGrammar({
      grammar: compiled.grammar.replace(/^integer-number-rule ::= .*$/m, `integer-number-rule ::= ${INTEGER}`),
      stopGenerationTriggers: compiled.stopGenerationTriggers,
      trimWhitespaceSuffix: compiled.trimWhitespaceSuffix,
    });
  }
}
