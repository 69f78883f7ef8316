// Conversations every real chat template is rendered with: plain chat, system prompts, multi-turn,
// tool definitions with assistant tool calls and tool results, reasoning content, multimodal
// content parts, and inputs some templates reject (so both renderers must raise).

const weather_tool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather for a city.",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", description: "City name, e.g. \"Paris\"" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"], default: "celsius" },
        days: { type: "integer", minimum: 1, maximum: 7.5 },
        detailed: { type: "boolean", default: false, nullable: null },
      },
      required: ["city"],
    },
  },
};

const search_tool = {
  type: "function",
  function: {
    name: "search",
    description: "Search the web.",
    parameters: {
      type: "object",
      properties: { query: { type: "string" }, top_k: { type: "number", default: 0.5 } },
      required: ["query"],
    },
  },
};

const tricky_text = "Héllo \"quoted\" and 'single' — naïve 日本語 😀\n  indented\tline\\back {{ not jinja }} {% raw %}";

const user = (content) => ({ role: "user", content });
const assistant = (content) => ({ role: "assistant", content });
const system = (content) => ({ role: "system", content });

const tool_call = (id, name, args) => ({ id, type: "function", function: { name, arguments: args } });

const tool_conversation = (argsAsString) => [
  system("You are a helpful assistant with tools."),
  user("What's the weather in Paris and in Tokyo?"),
  {
    role: "assistant",
    content: "",
    tool_calls: [
      tool_call("call_1", "get_weather", argsAsString ? '{"city": "Paris"}' : { city: "Paris", days: 2 }),
      tool_call("call_2", "get_weather", argsAsString ? '{"city": "Tokyo", "unit": "celsius"}' : { city: "Tokyo", unit: "celsius" }),
    ],
  },
  { role: "tool", tool_call_id: "call_1", name: "get_weather", content: '{"temperature": 21.5, "sky": "clear"}' },
  { role: "tool", tool_call_id: "call_2", name: "get_weather", content: "18 degrees, rain" },
  assistant("Paris: 21.5 °C and clear. Tokyo: 18 °C with rain."),
  user("Thanks!"),
];

const base = { bos_token: "<s>", eos_token: "</s>" };

export const conversations = [
  { name: "single user turn", context: { ...base, messages: [user("Hello!")], add_generation_prompt: true } },
  { name: "single user turn, no prompt", context: { ...base, messages: [user("Hello!")], add_generation_prompt: false } },
  {
    name: "system + multi-turn",
    context: {
      ...base,
      messages: [system("You are terse."), user("Hi"), assistant("Hello."), user("What is 2+2?")],
      add_generation_prompt: true,
    },
  },
  {
    name: "multi-turn ending with assistant",
    context: {
      ...base,
      messages: [user("Hi"), assistant("Hello."), user("Bye"), assistant("Goodbye!")],
      add_generation_prompt: false,
    },
  },
  {
    name: "tricky text",
    context: {
      ...base,
      messages: [system(`  ${tricky_text}  `), user(tricky_text), assistant(`\n${tricky_text}\n`), user("  spaces  ")],
      add_generation_prompt: true,
    },
  },
  {
    name: "tools with object arguments",
    context: { ...base, messages: tool_conversation(false), tools: [weather_tool, search_tool], add_generation_prompt: true },
  },
  {
    name: "tools with string arguments",
    context: { ...base, messages: tool_conversation(true), tools: [weather_tool], add_generation_prompt: true },
  },
  {
    name: "tools listed, plain question",
    context: {
      ...base,
      messages: [user("Search for jinja templates")],
      tools: [search_tool],
      add_generation_prompt: true,
      date_string: "26 Jul 2024",
    },
  },
  {
    name: "thinking enabled",
    context: {
      ...base,
      messages: [
        user("Think about 17*23."),
        { role: "assistant", content: "<think>\n17*23 = 391\n</think>\n\nIt is 391.", reasoning_content: "17*23 = 391" },
        user("And 18*23?"),
      ],
      add_generation_prompt: true,
      enable_thinking: true,
    },
  },
  {
    name: "thinking disabled",
    context: {
      ...base,
      messages: [user("Quick: capital of France?")],
      add_generation_prompt: true,
      enable_thinking: false,
    },
  },
  {
    name: "reasoning content field",
    context: {
      ...base,
      messages: [
        system("Reason step by step."),
        user("Is 91 prime?"),
        { role: "assistant", content: "No, 91 = 7 * 13.", reasoning_content: "91 / 7 = 13, so composite." },
        user("Is 97 prime?"),
        { role: "assistant", content: "Yes.", thinking: "97 has no divisor up to 9." },
      ],
      add_generation_prompt: false,
      enable_thinking: true,
    },
  },
  {
    name: "content parts",
    context: {
      ...base,
      messages: [
        system([{ type: "text", text: "Look closely." }]),
        user([
          { type: "text", text: "Describe this:" },
          { type: "image" },
          { type: "text", text: "in one line." },
        ]),
      ],
      add_generation_prompt: true,
    },
  },
  {
    name: "system only",
    context: { ...base, messages: [system("Only a system prompt.")], add_generation_prompt: true },
  },
  { name: "no messages", context: { ...base, messages: [], add_generation_prompt: true } },
  {
    name: "roles not alternating",
    context: { ...base, messages: [user("one"), user("two"), assistant("three")], add_generation_prompt: false },
  },
  {
    name: "unknown role",
    context: { ...base, messages: [{ role: "critic", content: "Hmm." }, user("ok")], add_generation_prompt: true },
  },
  {
    name: "llama 3 special tokens, no bos",
    context: {
      messages: [system("Be brief."), user("Hi")],
      add_generation_prompt: true,
      eos_token: "<|eot_id|>",
      date_string: "01 Jan 2025",
      tools_in_user_message: false,
    },
  },
  {
    name: "documents",
    context: {
      ...base,
      messages: [user("Summarize the documents.")],
      documents: [
        { title: "Doc A", text: "Alpha is first.", doc_id: 1 },
        { title: "Doc B", text: "Beta is second.", doc_id: 2 },
      ],
      add_generation_prompt: true,
    },
  },
];
