-- The root application: rtmfp://host/ (www/main.lua). It starts with the server; an application
-- in www/<name>/main.lua serves rtmfp://host/<name> and starts at its first connection.
-- Scripts written for CumulusServer (global `cumulus`) or MonaServer (global `mona`) both run
-- here unchanged; this sample mixes the two styles where they do not conflict.

function onStart(path)
  NOTE("application '", path, "' started")
end

-- Arguments after the first are those given to NetConnection.connect(url, ...).
function onConnection(client, ...)
  INFO("connection from ", client.address, " to '", client.path, "'")

  -- An RPC: NetConnection.call("echo", responder, ...) lands here, and what it returns is
  -- the responder's result.
  function client:echo(...)
    return ...
  end

  -- MonaServer style: NetConnection.send without a handler name lands in client:onMessage.
  function client:onMessage(message)
    INFO(client.address, " says ", tostring(message))
  end

  -- To call the Flash side back: client.writer:writeAMFMessage("name", ...) (Cumulus) or
  -- client.writer:writeInvocation("name", ...) (Mona).

  -- Accepted; this table reaches the Flash side in the NetConnection.Connect.Success info object.
  -- error("reason") instead would reject the connection with that description.
  return { message = "welcome" }
end

function onDisconnection(client)
  INFO(client.address, " disconnected")
end
