-- wrk script: POST /v1/cases with a unique external id per request.
-- The key comes from the environment (ICMM_KEY); the case is a valid OD case (DOMAIN.md section 9).
local key = os.getenv("ICMM_KEY")
-- Two wrk processes against one database (benchmarks/postgres) need ids that cannot collide.
local prefix = os.getenv("ICMM_ID_PREFIX") or ""
local template = '{"external_id":"%s","sex":"female","birth_year":1955,"mm_diagnosis_date":"2021-05-10",' ..
  '"intracranial":{"diagnosis_date":"2023-02-01","prior_lines":1,"imaging":{"modalities":["mri"],' ..
  '"findings":["skull_vault_lesion","dural_involvement"]},"csf":{"cytology":"negative","flow_cytometry":"negative"}},' ..
  '"therapy":{"agents":["bortezomib","dexamethasone"],"radiotherapy":true,"asct":false},' ..
  '"response":{"reported":"VGPR"},"outcome":{"last_followup_date":"2024-06-30"}}'
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  created = 0
  other = 0
end

function request()
  n = n + 1
  local body = string.format(template, prefix .. "W" .. tid .. "-" .. n)
  return wrk.format("POST", "/v1/cases", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format("acknowledged_201 %d\nother_status %d\n", c, o))
end
