// The errors an API client sees, in OpenAI's shape: {"error": {"message", "type", "param", "code"}}
// plus the HTTP status a server answers with. An ApiError is a weblm::Error, so front ends that
// only print errors (the CLI) need nothing special.
#pragma once

#include <string>

#include "api/json.h"
#include "util/error.h"

namespace weblm::api {

class ApiError : public Error {
 public:
  // `param` names the offending request field ("temperature", "messages[2].content"); `code` is
  // OpenAI's machine-readable reason ("invalid_value", "context_length_exceeded"). Empty strings
  // become JSON null.
  ApiError(int status, std::string type, const std::string& message, std::string param = "", std::string code = "");

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }

  Json to_json() const;

 private:
  int status_;
  std::string type_;
  std::string param_;
  std::string code_;
};

// 400 invalid_request_error: the client's request is wrong.
[[noreturn]] void reject(const std::string& param, const std::string& code, const std::string& message);
// 500 server_error: the request was fine but the engine failed.
ApiError server_error(const std::string& message);

}  // namespace weblm::api
