-- One Nimbus process per core on consecutive ports (docs/deploy.md). Every process runs this script. The first
-- process, the one clients connect to, is given the others as [servers] targets; it answers each IHello with the
-- process that serves the requested path, so that all clients of one application (and so its publications,
-- groups and rendezvous) meet in the same process. The other processes have no targets and answer normally.
-- A Flash/AIR client (or librtmfp, rtmfp-cpp, Nimbus's own client) follows the Redirect by itself.

-- The same path always gives the same process (a 31-bit string hash, exact in Lua 5.1 numbers).
local function hash(text)
  local h = 0
  for i = 1, #text do h = (h * 31 + text:byte(i)) % 2147483647 end
  return h
end

-- Only the targets count: the later processes see the first one too (as an initiator of its link to them),
-- and must not send clients back to it.
function onHandshake(address, path, properties, attempts)
  local targets = mona.servers.targets
  local others = targets.count
  if others == 0 then return end      -- a process on a later port: the normal answer
  local share = hash(path) % (others + 1)
  if share == 0 then return end       -- this process's share of the paths: the normal answer
  return targets(share)               -- its address (its RTMFP.publicAddress, as its link's hello gives it)
end

function onConnection(client, ...)
  function client:whichProcess() return tonumber(mona.configs.RTMFP.port) end
  -- which process serves this client (shows in the connect answer's info object)
  return { process = tonumber(mona.configs.RTMFP.port) }
end
