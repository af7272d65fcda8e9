// Built-in chat templates for models whose GGUF carries none. Written here in
// the same Jinja subset the interpreter renders, following each family's
// published prompt format.
#include <stdexcept>
#include <string>
#include <string_view>

#include "chat/template.h"

namespace ridge::chat {

namespace {

// Llama 2 chat: [INST] turns; the system prompt sits in <<SYS>> inside the first user turn.
constexpr std::string_view kLlama2 = R"JINJA({%- if messages and messages[0]['role'] == 'system' -%}
    {%- set system_message = messages[0]['content'] -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}
    {%- endif -%}
    {%- if message['role'] == 'user' -%}
        {%- set content = message['content'] -%}
        {%- if loop.first and system_message is defined -%}
            {%- set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + content -%}
        {%- endif -%}
        {{- bos_token + '[INST] ' + content | trim + ' [/INST]' -}}
    {%- else -%}
        {{- ' ' + message['content'] | trim + ' ' + eos_token -}}
    {%- endif -%}
{%- endfor -%}
)JINJA";

// Llama 3 instruct: header-delimited turns ending in <|eot_id|>.
constexpr std::string_view kLlama3 = R"JINJA({{- bos_token -}}
{%- for message in messages -%}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%}
)JINJA";

// ChatML: <|im_start|>role\ncontent<|im_end|>\n.
constexpr std::string_view kChatml = R"JINJA({%- for message in messages -%}
    {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\n' -}}
{%- endif -%}
)JINJA";

// Mistral instruct (v0.1/v0.2): [INST] turns, the system prompt folded into the first one.
constexpr std::string_view kMistral = R"JINJA({{- bos_token -}}
{%- if messages and messages[0]['role'] == 'system' -%}
    {%- set system_message = messages[0]['content'] -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}
    {%- endif -%}
    {%- if message['role'] == 'user' -%}
        {%- if loop.first and system_message is defined -%}
            {{- '[INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' -}}
        {%- else -%}
            {{- '[INST] ' + message['content'] + ' [/INST]' -}}
        {%- endif -%}
    {%- else -%}
        {{- ' ' + message['content'] + eos_token -}}
    {%- endif -%}
{%- endfor -%}
)JINJA";

}  // namespace

std::string builtin_template(std::string_view name) {
  if (name == "llama2") return std::string(kLlama2);
  if (name == "llama3") return std::string(kLlama3);
  if (name == "chatml") return std::string(kChatml);
  if (name == "mistral") return std::string(kMistral);
  throw std::invalid_argument("unknown built-in chat template '" + std::string(name) +
                              "' (known: llama2, llama3, chatml, mistral)");
}

}  // namespace ridge::chat
