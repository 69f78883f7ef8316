// The JSON type of the API layer: nlohmann's ordered_json keeps fields in insertion order, so
// responses read in the order OpenAI documents them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace weblm::api {

using Json = nlohmann::ordered_json;

// One line of JSON. Strings the API builds are valid UTF-8; replacement guards the rest (text a
// client sent us is echoed back) so printing never throws.
inline std::string dump_json(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace weblm::api
