-- Publication forwarding between servers (the first recipe of MonaServer's scalability page, done our way):
-- every publication of a client here is announced to every linked server and its audio, video and data
-- packets follow it, as server RPCs. Each server holds its copies as script publications (mona:publish), so
-- players on any server get the stream; the copies close when the origin unpublishes or its server goes away.

local origins = {} -- names published by clients of this server

local function forward(handler, ...)
  mona.servers:broadcast(handler, ...)
end

function onConnection(client)
  function client:onPublish(publication)
    local name = publication.name
    origins[name] = true
    forward("publish", name)
    function publication:onAudio(time, packet) forward("audio", name, time, packet) end
    function publication:onVideo(time, packet) forward("video", name, time, packet) end
  end
  function client:onUnpublish(publication)
    origins[publication.name] = nil
    forward("unpublish", publication.name)
  end
end

-- data messages stay raw this way (publication:onData would hand them over decoded)
function onDataPacket(client, publication, name, packet)
  forward("data", publication.name, name, packet)
end

function onServerConnection(server)
  server.copies = {}
  -- a server linking later learns what is published here already
  for name in pairs(origins) do server:send("publish", name) end

  function server:publish(name)
    if not self.copies[name] then self.copies[name] = mona:publish(name) end
  end
  function server:unpublish(name)
    local copy = self.copies[name]
    if copy then copy:close() end
    self.copies[name] = nil
  end
  function server:audio(name, time, packet)
    local copy = self.copies[name]
    if copy then copy:pushAudio(time, packet); copy:flush() end
  end
  function server:video(name, time, packet)
    local copy = self.copies[name]
    if copy then copy:pushVideo(time, packet); copy:flush() end
  end
  function server:data(name, dataName, packet)
    local copy = self.copies[name]
    if copy then copy:pushDataPacket(dataName, packet); copy:flush() end
  end
  NOTE("linked ", server.address, server.isTarget and " (target)" or " (initiator)")
end

function onServerDisconnection(server, err)
  for _, copy in pairs(server.copies or {}) do copy:close() end
  server.copies = {}
  NOTE("unlinked ", server.address, " ", tostring(err))
end

-- bench/servers.ts: every server echoes "echo" back as "echoed" (round trips over one link)
local linked = onServerConnection
function onServerConnection(server)
  linked(server)
  function server:echo(...) self:send("echoed", ...) end
end
