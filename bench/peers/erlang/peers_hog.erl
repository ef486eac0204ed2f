%% Erlang/OTP counterpart of troupe's bench/hog_latency.c (latency under
%% load, issue "fair scheduling"): the same workload, the same lines.
%% Build: erlc -o DIR bench/peers/erlang/peers_hog.erl
%% Run:   erl -noshell +S 2:2 -pa DIR -run peers_hog main H W [ROUNDS]
%%        (defaults 2, 200, 200)
%% H "hog" processes each with an endless backlog of messages costing W us
%% of busy CPU apiece (each spins W us, then sends itself the next one).
%% Then:
%%   bench=hog_latency_h<H>_w<W>: a driver process sends a request to an
%%     idle responder process once every millisecond, ROUNDS times, and
%%     times each round trip;
%%   bench=hog_timer_h<H>_w<W>: a process's 1 ms interval timer
%%     (timer:send_interval) under the same load; each tick's lateness is
%%     how much longer than the period it came after the tick before.
%% Each line: n=ROUNDS seconds= rate= unit=roundtrips/s|ticks/s
%% p50_us= p99_us= max_us= (round trip, or lateness), as troupe prints.
-module(peers_hog).
-export([main/1]).

main(Args) ->
    Ints = [list_to_integer(A) || A <- Args],
    H = arg(Ints, 1, 2),
    W = arg(Ints, 2, 200),
    Rounds = arg(Ints, 3, 200),
    Result = try run(H, W, Rounds)
             catch C:E:S ->
                     io:format(standard_error, "erlang: ERROR ~p:~p~n~p~n", [C, E, S]),
                     error
             end,
    case Result of
        ok -> erlang:halt(0);
        _ -> erlang:halt(1)
    end.

arg(L, I, _) when length(L) >= I -> lists:nth(I, L);
arg(_, _, Def) -> Def.

now_ns() -> erlang:monotonic_time(nanosecond).

run(H, W, Rounds) ->
    Responder = spawn(fun responder/0),
    Hogs = [spawn(fun() -> hog(W) end) || _ <- lists:seq(1, H)],
    [Hog ! chew || Hog <- Hogs],
    receive after 20 -> ok end, % let the hogs take both schedulers
    T0 = now_ns(),
    Rtts = ping_rounds(Responder, Rounds, now_ns(), 0, []),
    line("hog_latency", H, W, Rounds, T0, "roundtrips/s", Rtts),
    Self = self(),
    T1 = now_ns(),
    spawn(fun() -> ticker(Self, Rounds) end),
    Late = receive {late, L} -> L end,
    line("hog_timer", H, W, Rounds, T1, "ticks/s", Late),
    ok.

%% busy W us per message, then the next one
hog(W) ->
    receive chew -> ok end,
    spin(now_ns() + W * 1000),
    self() ! chew,
    hog(W).

spin(End) ->
    case now_ns() < End of
        true -> spin(End);
        false -> ok
    end.

responder() ->
    receive {ping, From, K} -> From ! {pong, K} end,
    responder().

%% one round every millisecond, on an absolute schedule as troupe's
%% clock_nanosleep(TIMER_ABSTIME) loop
ping_rounds(_, Rounds, _, Rounds, Acc) -> lists:reverse(Acc);
ping_rounds(Responder, Rounds, Next0, K, Acc) ->
    Next = Next0 + 1000000,
    Wait = (Next - now_ns()) div 1000000,
    receive after max(Wait, 0) -> ok end,
    S = now_ns(),
    Responder ! {ping, self(), K},
    receive {pong, K} -> ok end,
    ping_rounds(Responder, Rounds, Next, K + 1, [now_ns() - S | Acc]).

ticker(Driver, Rounds) ->
    {ok, _} = timer:send_interval(1, tick),
    Driver ! {late, ticks(Rounds, now_ns(), [])}.

ticks(0, _, Acc) -> Acc;
ticks(N, Last, Acc) ->
    receive tick -> ok end,
    Now = now_ns(),
    ticks(N - 1, Now, [max(Now - Last - 1000000, 0) | Acc]).

line(Bench, H, W, N, T0, Unit, Values) ->
    Secs = (now_ns() - T0) / 1.0e9,
    V = list_to_tuple(lists:sort(Values)),
    P50 = element(N div 2 + 1, V),
    P99 = element((N * 99 + 99) div 100, V),
    Max = element(N, V),
    io:format("peer=erlang bench=~s_h~b_w~b n=~b seconds=~.6f rate=~.1f unit=~s "
              "p50_us=~.1f p99_us=~.1f max_us=~.1f~n",
              [Bench, H, W, N, Secs, N / Secs, Unit, P50 / 1000, P99 / 1000, Max / 1000]).
