#include "api/api_error.h"

namespace weblm::api {

ApiError::ApiError(int status, std::string type, const std::string& message, std::string param, std::string code)
    : Error(message), status_(status), type_(std::move(type)), param_(std::move(param)), code_(std::move(code)) {}

Json ApiError::to_json() const {
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  return Json{{"error", {{"message", what()}, {"type", type_}, {"param", or_null(param_)}, {"code", or_null(code_)}}}};
}

void reject(const std::string& param, const std::string& code, const std::string& message) {
  throw ApiError(400, "invalid_request_error", message, param, code);
}

ApiError server_error(const std::string& message) { return ApiError(500, "server_error", message); }

}  // namespace weblm::api
