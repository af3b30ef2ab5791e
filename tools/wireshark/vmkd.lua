-- SPDX-License-Identifier: MIT
-- vmkd.lua - Wireshark dissector for `vmkd trace --pcapng` files (docs/recording.md).
--
-- Link type LINKTYPE_USER0 (147). Each packet: a 4-byte vmkd pseudo-header (version,
-- direction, kind, flags), then the recorded bytes: KDCOM on the debugger side (leader,
-- packet type, byte count, id, checksum, payload, trailer 0xAA), or a guest-side KD packet
-- (u16 packet type, u16 reserved, payload), or a relay event (u32 code, text).
--
-- Install: copy to ~/.local/lib/wireshark/plugins/ (or run wireshark -X lua_script:vmkd.lua).

local vmkd = Proto("vmkd", "vmkd KD recording")

local directions = {
	[0] = "guest -> relay", [1] = "relay -> guest",
	[2] = "debugger -> relay", [3] = "relay -> debugger",
}
local kinds = { [1] = "KDCOM", [2] = "guest KD packet", [3] = "event" }
local events = {
	[1] = "guest connected", [2] = "guest disconnected", [3] = "guest hello",
	[4] = "debugger connected", [5] = "debugger disconnected",
}
local packet_types = {
	[1] = "STATE_CHANGE32", [2] = "STATE_MANIPULATE", [3] = "DEBUG_IO", [4] = "ACKNOWLEDGE",
	[5] = "RESEND", [6] = "RESET", [7] = "STATE_CHANGE64", [8] = "POLL_BREAKIN",
	[9] = "TRACE_IO", [10] = "CONTROL_REQUEST", [11] = "FILE_IO",
}
local leaders = { [0x30303030] = "data", [0x69696969] = "control" }
local apis = {
	[0x3130] = "ReadVirtualMemory", [0x3131] = "WriteVirtualMemory", [0x3132] = "GetContext",
	[0x3133] = "SetContext", [0x3134] = "WriteBreakPoint", [0x3135] = "RestoreBreakPoint",
	[0x3136] = "Continue", [0x3137] = "ReadControlSpace", [0x3138] = "WriteControlSpace",
	[0x3139] = "ReadIoSpace", [0x313a] = "WriteIoSpace", [0x313b] = "Reboot",
	[0x313c] = "Continue2", [0x313d] = "ReadPhysicalMemory", [0x313e] = "WritePhysicalMemory",
	[0x313f] = "QuerySpecialCalls", [0x3140] = "SetSpecialCall", [0x3141] = "ClearSpecialCalls",
	[0x3142] = "SetInternalBreakPoint", [0x3143] = "GetInternalBreakPoint",
	[0x3144] = "ReadIoSpaceExtended", [0x3145] = "WriteIoSpaceExtended",
	[0x3146] = "GetVersion", [0x3147] = "WriteBreakPointEx", [0x3148] = "RestoreBreakPointEx",
	[0x3149] = "CauseBugCheck", [0x3150] = "SwitchProcessor", [0x3151] = "PageIn",
	[0x3152] = "ReadMachineSpecificRegister", [0x3153] = "WriteMachineSpecificRegister",
	[0x3154] = "OldVlm1", [0x3155] = "OldVlm2", [0x3156] = "SearchMemory",
	[0x3157] = "GetBusData", [0x3158] = "SetBusData", [0x3159] = "CheckLowMemory",
	[0x315a] = "ClearAllInternalBreakpoints", [0x315b] = "FillMemory",
	[0x315c] = "QueryMemory", [0x315d] = "SwitchPartition",
	[0x315e] = "WriteCustomBreakpoint", [0x315f] = "GetContextEx", [0x3160] = "SetContextEx",
	[0x3230] = "PrintString", [0x3231] = "GetString",
	[0x3030] = "Exception", [0x3031] = "LoadSymbols", [0x3032] = "CommandString",
	[0x3430] = "CreateFile", [0x3431] = "ReadFile", [0x3432] = "WriteFile",
	[0x3433] = "CloseFile",
}

local f = vmkd.fields
f.version = ProtoField.uint8("vmkd.version", "Version")
f.dir = ProtoField.uint8("vmkd.dir", "Direction", base.DEC, directions)
f.kind = ProtoField.uint8("vmkd.kind", "Kind", base.DEC, kinds)
f.flags = ProtoField.uint8("vmkd.flags", "Flags", base.HEX)
f.fragment = ProtoField.bool("vmkd.fragment", "Not a whole packet", 8, nil, 0x01)
f.leader = ProtoField.uint32("vmkd.kd.leader", "Leader", base.HEX, leaders)
f.breakin = ProtoField.uint8("vmkd.kd.breakin", "Break-in byte", base.HEX)
f.ptype = ProtoField.uint16("vmkd.kd.type", "Packet type", base.DEC, packet_types)
f.count = ProtoField.uint16("vmkd.kd.byte_count", "Byte count")
f.id = ProtoField.uint32("vmkd.kd.id", "Packet id", base.HEX)
f.sync = ProtoField.bool("vmkd.kd.sync", "SYNC", 32, nil, 0x00000800)
f.checksum = ProtoField.uint32("vmkd.kd.checksum", "Checksum", base.HEX)
f.api = ProtoField.uint32("vmkd.kd.api", "API number", base.HEX, apis)
f.processor_level = ProtoField.uint16("vmkd.kd.processor_level", "Processor level")
f.processor = ProtoField.uint16("vmkd.kd.processor", "Processor")
f.status = ProtoField.uint32("vmkd.kd.status", "Return status", base.HEX)
f.text = ProtoField.string("vmkd.kd.text", "Text")
f.payload = ProtoField.bytes("vmkd.kd.payload", "Payload")
f.trailer = ProtoField.uint8("vmkd.kd.trailer", "Trailer", base.HEX)
f.event = ProtoField.uint32("vmkd.event", "Event", base.DEC, events)
f.event_text = ProtoField.string("vmkd.event.text", "Text")

-- The first fields of a data packet's payload: the API number (NewState for a state
-- change) and, by type, what follows.
local function payload_tree(tree, buf, ptype)
	local n = buf:len()
	tree:add(f.payload, buf)
	if n < 4 then return "" end
	local api = buf(0, 4):le_uint()
	tree:add_le(f.api, buf(0, 4))
	local name = apis[api] or string.format("api %#x", api)
	if ptype == 2 and n >= 12 then -- STATE_MANIPULATE: api, level, processor, status
		tree:add_le(f.processor_level, buf(4, 2))
		tree:add_le(f.processor, buf(6, 2))
		tree:add_le(f.status, buf(8, 4))
	elseif ptype == 3 and n >= 16 then -- DEBUG_IO: api, level, processor, length
		tree:add_le(f.processor, buf(6, 2))
		if n > 16 then
			tree:add(f.text, buf(16, n - 16))
			if api == 0x3230 then
				local text = buf(16, math.min(n - 16, 60)):string()
				-- control characters (the newline) would break the Info column
				text = text:gsub("[%c\\]", function(c)
					return string.format("\\x%02x", c:byte())
				end)
				name = name .. ' "' .. text .. '"'
			end
		end
	end -- a state change's first field, NewState, is named by the same table
	return name
end

local function kdcom(tree, buf, pinfo)
	local n = buf:len()
	if n == 1 then
		tree:add(f.breakin, buf(0, 1))
		return "BREAKIN"
	end
	if n < 16 then return "fragment" end
	local sub = tree:add(vmkd, buf, "KDCOM packet")
	sub:add_le(f.leader, buf(0, 4))
	sub:add_le(f.ptype, buf(4, 2))
	sub:add_le(f.count, buf(6, 2))
	local id = sub:add_le(f.id, buf(8, 4))
	id:add_le(f.sync, buf(8, 4))
	sub:add_le(f.checksum, buf(12, 4))
	local ptype = buf(4, 2):le_uint()
	local count = buf(6, 2):le_uint()
	local what = string.format("%s id=%08x", packet_types[ptype] or ("type " .. ptype),
				   buf(8, 4):le_uint())
	if buf(0, 4):le_uint() == 0x30303030 and n >= 16 + count then
		if count > 0 then
			what = what .. " " .. payload_tree(sub, buf(16, count), ptype)
		end
		if n > 16 + count then sub:add(f.trailer, buf(16 + count, 1)) end
	end
	return what
end

function vmkd.dissector(buf, pinfo, tree)
	if buf:len() < 4 then return 0 end
	pinfo.cols.protocol = "vmkd"
	local t = tree:add(vmkd, buf(), "vmkd recording")
	t:add(f.version, buf(0, 1))
	t:add(f.dir, buf(1, 1))
	t:add(f.kind, buf(2, 1))
	local fl = t:add(f.flags, buf(3, 1))
	fl:add(f.fragment, buf(3, 1))
	local dir = buf(1, 1):uint()
	local kind = buf(2, 1):uint()
	local body = buf:len() > 4 and buf(4) or nil
	local info
	if kind == 3 and body and body:len() >= 4 then
		t:add_le(f.event, body(0, 4))
		if body:len() > 4 then t:add(f.event_text, body(4)) end
		info = "event: " .. (events[body(0, 4):le_uint()] or "unknown")
	elseif kind == 2 and body and body:len() >= 4 then
		local ptype = body(0, 2):le_uint()
		t:add_le(f.ptype, body(0, 2))
		info = "guest " .. (packet_types[ptype] or ("type " .. ptype))
		if body:len() > 4 then info = info .. " " .. payload_tree(t, body(4), ptype) end
	elseif kind == 1 and body then
		info = "dbg " .. kdcom(t, body, pinfo)
	else
		info = "?"
	end
	pinfo.cols.src = (dir == 0 and "guest") or (dir == 2 and "debugger") or "relay"
	pinfo.cols.dst = (dir == 1 and "guest") or (dir == 3 and "debugger") or
			 ((dir == 0 or dir == 2) and "relay") or ""
	pinfo.cols.info = info
	return buf:len()
end

DissectorTable.get("wtap_encap"):add(wtap.USER0, vmkd)
