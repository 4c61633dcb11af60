/// The Lua scripts behind TenderFlow's coordination. Each runs atomically in Redis: no other instance's command
/// comes between its reads and writes, which is what makes a lease exclusive, a version a compare-and-increment,
/// a comment number unique and an offline announcement single. Every script reads the time from Redis (`TIME`),
/// so every instance compares against one clock.
///
/// A lease is kept as `<expires ms>|<socket id>|<user>` in the tender's lease hash (field: the section), next
/// to `@rev`, the revision of the tender's lease list, raised by every change a client would see.
enum CoordinationScripts {
    private static let clock = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

        """

    private static let leaseParse =
        clock + """
            local function parse(value)
              local expires, sid, user = string.match(value, '^(%d+)|([^|]*)|(.*)$')
              return tonumber(expires), sid, user
            end

            """

    /// For the scripts whose KEYS[1] is a lease hash.
    private static let leasePrelude =
        leaseParse + """
            -- {outcome, detail, revision, now, section, lease, ...}: the live leases after the change.
            local function board(outcome, detail)
              local reply = {outcome, detail or '', tonumber(redis.call('HGET', KEYS[1], '@rev') or '0'), now}
              local all = redis.call('HGETALL', KEYS[1])
              for i = 1, #all, 2 do
                if all[i] ~= '@rev' then
                  local expires = parse(all[i + 1])
                  if expires and expires > now then
                    reply[#reply + 1] = all[i]
                    reply[#reply + 1] = all[i + 1]
                  end
                end
              end
              return reply
            end

            """

    /// KEYS: leases. ARGV: section, user, socket id, lease ms, key ms. Granted when the section is free, its
    /// lease lapsed, or it is the same user's (another tab, a reconnect: the lease moves to this socket);
    /// `renewed` when this socket holds it already (the list is unchanged).
    static let acquireLease =
        leasePrelude + """
            local current = redis.call('HGET', KEYS[1], ARGV[1])
            local moved = true
            if current then
              local expires, sid, user = parse(current)
              local live = expires and expires > now
              if live and user ~= ARGV[2] then return board('held', current) end
              moved = not (live and sid == ARGV[3])
            end
            redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[4])) .. '|' .. ARGV[3] .. '|' .. ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            if not moved then return board('renewed') end
            redis.call('HINCRBY', KEYS[1], '@rev', 1)
            return board('granted')
            """

    /// KEYS: leases. ARGV: section, socket id, lease ms, key ms. 1 when the socket still holds the section.
    static let renewLease =
        leasePrelude + """
            local current = redis.call('HGET', KEYS[1], ARGV[1])
            if not current then return 0 end
            local expires, sid, user = parse(current)
            if not expires or sid ~= ARGV[2] or expires <= now then return 0 end
            redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. '|' .. sid .. '|' .. user)
            redis.call('PEXPIRE', KEYS[1], ARGV[4])
            return 1
            """

    /// KEYS: leases. ARGV: section, socket id, grace ms. With no grace the lease goes now; with one it lapses
    /// then, unless its user takes it again first (a reconnect), and is held by no socket meanwhile.
    static let releaseLease =
        leasePrelude + """
            local current = redis.call('HGET', KEYS[1], ARGV[1])
            if not current then return board('not-held') end
            local expires, sid, user = parse(current)
            if not expires or sid == '' or sid ~= ARGV[2] or expires <= now then return board('not-held') end
            local grace = tonumber(ARGV[3])
            if grace > 0 then
              -- No socket holds it now: no renewal (a heartbeat's, sent before) extends it; its user may take it.
              redis.call('HSET', KEYS[1], ARGV[1], math.min(expires, now + grace) .. '||' .. user)
              return board('lapsing')
            end
            redis.call('HDEL', KEYS[1], ARGV[1])
            redis.call('HINCRBY', KEYS[1], '@rev', 1)
            return board('released')
            """

    /// KEYS: leases. Removes the lapsed leases; `swept` (with how many) when there were any: the caller that
    /// removed them is the one that announces the new list.
    static let sweepLeases =
        leasePrelude + """
            local all = redis.call('HGETALL', KEYS[1])
            local removed = 0
            for i = 1, #all, 2 do
              if all[i] ~= '@rev' then
                local expires = parse(all[i + 1])
                if not expires or expires <= now then
                  redis.call('HDEL', KEYS[1], all[i])
                  removed = removed + 1
                end
              end
            end
            if removed == 0 then return board('none') end
            redis.call('HINCRBY', KEYS[1], '@rev', 1)
            return board('swept', tostring(removed))
            """

    /// KEYS: leases.
    static let listLeases = leasePrelude + "return board('list')\n"

    /// The tender's record hash keeps `@epoch`, when it was created: a Redis that lost it (a restart without
    /// persistence) numbers versions and comments from the start again, and the epoch in the idempotency keys
    /// tells the backend that these are new.
    private static let epoch = """
        local epoch = redis.call('HGET', KEYS[1], '@epoch')
        if not epoch then
          epoch = tostring(now)
          redis.call('HSET', KEYS[1], '@epoch', epoch)
        end

        """

    /// KEYS: tender record, leases, request, handoff. ARGV: section, base version, user, request id (or ''),
    /// patch (JSON), tender, most handoff entries, request ms. `{accepted, version}`, `{duplicate, version}`
    /// (this user's request, with this patch, was accepted before), `{reused, 0}` (the request id was used for
    /// another patch), `{conflict, current version}`, `{leased, lease}` or `{backlog,
    /// entries}` (the backend is that far behind: nothing is accepted that cannot be handed off). The accepted
    /// update enters the handoff stream in the same step: it is never accepted without being handed to the
    /// backend, and never trimmed away before the backend deletes it.
    static let updateSection =
        leaseParse + """
            if ARGV[4] ~= '' then
              local seen = redis.call('GET', KEYS[3])
              if seen then
                local version, digest = string.match(seen, '^(%d+)|(%x+)$')
                if digest ~= redis.sha1hex(ARGV[5]) then return {'reused', 0} end
                return {'duplicate', tonumber(version)}
              end
            end
            local held = redis.call('HGET', KEYS[2], ARGV[1])
            if held then
              local expires, sid, user = parse(held)
              if expires and expires > now and user ~= ARGV[3] then return {'leased', held} end
            end
            local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
            if current ~= tonumber(ARGV[2]) then return {'conflict', current} end
            local backlog = redis.call('XLEN', KEYS[4])
            if backlog >= tonumber(ARGV[7]) then return {'backlog', backlog} end

            """ + epoch + """
            local version = current + 1
            redis.call('HSET', KEYS[1], ARGV[1], version)
            redis.call('XADD', KEYS[4], '*', 'kind', 'update',
              'key', ARGV[6] .. '/' .. ARGV[1] .. '/' .. epoch .. '/' .. version, 'tender', ARGV[6],
              'section', ARGV[1], 'version', version, 'epoch', epoch, 'user', ARGV[3], 'at', now, 'data', ARGV[5])
            if ARGV[4] ~= '' then
              redis.call('SET', KEYS[3], version .. '|' .. redis.sha1hex(ARGV[5]), 'PX', ARGV[8])
            end
            return {'accepted', version}
            """

    /// KEYS: tender record, request, handoff. ARGV: user, comment (JSON), request id (or ''), tender, most
    /// handoff entries, request ms. `{accepted|duplicate, number, at}`, `{reused, 0, 0}` (the request id was used
    /// for another comment) or `{backlog, entries, 0}`.
    static let addComment =
        clock + """
            if ARGV[3] ~= '' then
              local seen = redis.call('GET', KEYS[2])
              if seen then
                local number, at, digest = string.match(seen, '^(%d+)|(%d+)|(%x+)$')
                if digest ~= redis.sha1hex(ARGV[2]) then return {'reused', 0, 0} end
                return {'duplicate', tonumber(number), tonumber(at)}
              end
            end
            local backlog = redis.call('XLEN', KEYS[3])
            if backlog >= tonumber(ARGV[5]) then return {'backlog', backlog, 0} end

            """ + epoch + """
            local number = redis.call('HINCRBY', KEYS[1], '@comments', 1)
            redis.call('XADD', KEYS[3], '*', 'kind', 'comment',
              'key', ARGV[4] .. '/comment/' .. epoch .. '/' .. number, 'tender', ARGV[4], 'comment', number,
              'epoch', epoch, 'user', ARGV[1], 'at', now, 'data', ARGV[2])
            if ARGV[3] ~= '' then
              redis.call('SET', KEYS[2], number .. '|' .. now .. '|' .. redis.sha1hex(ARGV[2]), 'PX', ARGV[6])
            end
            return {'accepted', number, now}
            """

    /// KEYS: jobs. ARGV: job id, state, the job (JSON), most jobs kept, key ms. Keeps `<updated ms>|<state>|<job>`;
    /// past the bound, the job updated longest ago goes. `{kept, now}`, or `{finished, state}` when the job had
    /// finished and this says it runs (a publication that arrived late, through another instance): not kept.
    static let retainJob =
        clock + """
            local terminal = {succeeded = true, failed = true, cancelled = true}
            local stored = redis.call('HGET', KEYS[1], ARGV[1])
            if stored then
              local state = string.match(stored, '^%d+|(%a+)|')
              if terminal[state] and not terminal[ARGV[2]] then return {'finished', state} end
            end
            redis.call('HSET', KEYS[1], ARGV[1], now .. '|' .. ARGV[2] .. '|' .. ARGV[3])
            if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[4]) then
              local all = redis.call('HGETALL', KEYS[1])
              local oldest, at = nil, nil
              for i = 1, #all, 2 do
                local updated = tonumber(string.match(all[i + 1], '^(%d+)|'))
                if all[i] ~= ARGV[1] and updated and (at == nil or updated < at) then oldest, at = all[i], updated end
              end
              if oldest then redis.call('HDEL', KEYS[1], oldest) end
            end
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            return {'kept', now}
            """

    /// KEYS: activity. ARGV: most events, key ms, event, data (JSON).
    static let recordActivity = """
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[3], 'd', ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """

    // MARK: Online status
    //
    // A user's status hash holds one field per instance with a socket of theirs (its value: when that hold
    // lapses without a refresh), `@state` (`online` / `offline`: what was last announced), `@seen` (the
    // announced last-seen time) and `@left` (when a socket of theirs last went).

    /// KEYS: status, index. ARGV: instance, hold ms, key ms, index member ('': not indexed, the copy another
    /// region keeps). 1 when this makes the user online (announce it), 0 when they were already.
    static let holdStatus =
        clock + """
            redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[4]) end
            if redis.call('HGET', KEYS[1], '@state') == 'online' then return 0 end
            redis.call('HSET', KEYS[1], '@state', 'online')
            return 1
            """

    /// KEYS: status, index. ARGV: instance, debounce ms, index member (or ''). The instance's last socket of
    /// the user went: its hold goes, and the index says when to settle the user (after the debounce, so a
    /// reconnect is no flap).
    static let releaseStatus =
        clock + """
            redis.call('HDEL', KEYS[1], ARGV[1])
            redis.call('HSET', KEYS[1], '@left', now)
            if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3]) end
            return now
            """

    /// KEYS: index. ARGV: most entries, claim ms. Claims the entries due now: each moves to `now + claim`, so
    /// no other caller takes it meanwhile, and one whose settle never came (its caller lost Redis or died) is due
    /// again after the claim. `{claim score, member, due score, ...}`.
    static let dueStatuses =
        clock + """
            local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]),
              'WITHSCORES')
            local claim = now + tonumber(ARGV[2])
            local reply = {tostring(claim)}
            for i = 1, #due, 2 do
              redis.call('ZADD', KEYS[1], 'XX', claim, due[i])
              reply[#reply + 1] = due[i]
              reply[#reply + 1] = due[i + 1]
            end
            return reply
            """

    /// KEYS: status, index. ARGV: the latest the user may have been seen by the holds that lapsed, the index
    /// member, its claim score. Drops lapsed holds; when none is left and the user was announced online, marks
    /// them offline and returns the last-seen time (announce it), else 0. One step, so the user is announced
    /// offline once however many instances settle. The index entry goes unless a refresh moved it since the claim.
    static let settleStatus =
        clock + """
            local all = redis.call('HGETALL', KEYS[1])
            local live, lapsed = false, false
            for i = 1, #all, 2 do
              if string.sub(all[i], 1, 1) ~= '@' then
                if (tonumber(all[i + 1]) or 0) <= now then
                  redis.call('HDEL', KEYS[1], all[i])
                  lapsed = true
                else
                  live = true
                end
              end
            end
            if ARGV[2] ~= '' and tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2]) or '-1') == tonumber(ARGV[3]) then
              redis.call('ZREM', KEYS[2], ARGV[2])
            end
            if live or redis.call('HGET', KEYS[1], '@state') ~= 'online' then return 0 end
            -- Their last socket's going, or for a hold that lapsed (an instance that died) its last refresh.
            local seen = tonumber(redis.call('HGET', KEYS[1], '@left') or '0')
            if lapsed or seen == 0 then seen = math.max(seen, tonumber(ARGV[1])) end
            redis.call('HSET', KEYS[1], '@state', 'offline', '@seen', seen)
            return seen
            """

    /// KEYS: status. ARGV: debounce ms. `{online, last seen}`: online while a hold of any instance has not
    /// lapsed (so a region's copy that missed a settle does not say online for longer than a hold lives), or
    /// while the last socket's debounce runs and the user was announced online (a reconnect within it announces
    /// nothing, so a watcher must not have been told offline); last seen as announced, or when the last socket
    /// went.
    static let readStatus =
        clock + """
            local all = redis.call('HGETALL', KEYS[1])
            local online, seen, left, state = 0, 0, 0, ''
            for i = 1, #all, 2 do
              if all[i] == '@seen' then seen = tonumber(all[i + 1]) or 0
              elseif all[i] == '@left' then left = tonumber(all[i + 1]) or 0
              elseif all[i] == '@state' then state = all[i + 1]
              elseif string.sub(all[i], 1, 1) ~= '@' and (tonumber(all[i + 1]) or 0) > now then online = 1 end
            end
            if state == 'online' and left + tonumber(ARGV[1]) > now then online = 1 end
            return {online, math.max(seen, left)}
            """
}
