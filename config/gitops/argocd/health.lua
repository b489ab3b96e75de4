-- Argo CD health check for PaaSDiagnosis (diagnosis.paasdiag.io). Argo CD runs it with
-- the object in `obj` and reads the returned table.
--   Healthy      Ready is True: every configured check passed (warnings, if any, are
--                in the message).
--   Progressing  the current generation has not been evaluated yet.
--   Degraded     a code is active (Ready False; the codes are in the message), the
--                spec is stalled, or paasdiag cannot tell (Ready Unknown after an
--                evaluation, e.g. a database down).
--   Suspended    spec.suspend is true.
local hs = {}
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Evaluation is suspended"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first evaluation"
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for generation " .. tostring(obj.metadata.generation) .. " to be evaluated"
  return hs
end
local ready = nil
local stalled = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" then stalled = c end
end
local codes = ""
if obj.status.codes ~= nil and #obj.status.codes > 0 then
  codes = table.concat(obj.status.codes, ",") .. ": "
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = codes .. "Stalled (" .. (stalled.reason or "") .. "): " .. (stalled.message or "")
  return hs
end
if ready == nil or (ready.status == "Unknown" and ready.reason == "Evaluating") then
  hs.status = "Progressing"
  hs.message = "Waiting for the first evaluation"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
hs.status = "Degraded"
if ready.status == "Unknown" then
  hs.message = "Cannot tell (" .. (ready.reason or "") .. "): " .. (ready.message or "")
else
  hs.message = codes .. (ready.reason or "") .. ": " .. (ready.message or "")
end
return hs
