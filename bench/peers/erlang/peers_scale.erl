%% Erlang/OTP counterparts of troupe's scale benchmarks (issue 13):
%% bench/monitors.c and bench/timers_fire.c, same workloads, same lines.
%% Build: erlc -o DIR bench/peers/erlang/peers_scale.erl
%% Run:   erl -noshell +S 2:2 +P 4194304 -pa DIR -run peers_scale main <bench> [N]
%% Benches:
%%   monitors [N]     (default 100000) prints bench=monitors (one process
%%                    monitors N, then stops them all: time until all N
%%                    'DOWN' are received) and bench=demonitors (N fresh
%%                    monitors removed with erlang:demonitor/1);
%%   timers_fire [N [R]]  (default 1000000 timers, 1 receiver) prints
%%                    bench=timers_arm_idle, bench=timers_arm (arming N
%%                    more while the first N fire) and bench=timers_fire
%%                    (the first N: lateness p50_us= p99_us= max_us=),
%%                    timer i due 3000 + 2000*i div N ms after it is armed,
%%                    sent to receiver i rem R.
-module(peers_scale).
-export([main/1]).

main([Bench | Args]) ->
    Result = try run(Bench, [list_to_integer(A) || A <- Args])
             catch C:E:S ->
                     io:format(standard_error, "erlang: ERROR ~p:~p~n~p~n",
                               [C, E, S]),
                     error
             end,
    case Result of
        ok -> erlang:halt(0);
        _ -> erlang:halt(1)
    end.

run("monitors", A) -> monitors(arg(A, 1, 100000));
run("timers_fire", A) -> timers_fire(arg(A, 1, 1000000), arg(A, 2, 1));
run(Other, _) -> fail({unknown_bench, Other}).

arg(L, I, _) when length(L) >= I -> lists:nth(I, L);
arg(_, _, Def) -> Def.

now_s() -> erlang:monotonic_time(nanosecond) / 1.0e9.

report_rate(Bench, N, Secs, Unit) ->
    io:format("peer=erlang bench=~s n=~b seconds=~.6f rate=~.1f unit=~s~n",
              [Bench, N, Secs, N / Secs, Unit]),
    ok.

fail(Why) ->
    io:format(standard_error, "erlang: CHECK FAILED: ~p~n", [Why]),
    erlang:halt(1).

%% ------------------------------------------------------------- monitors

%% A target answers `sync` until it is told to stop. The watcher syncs
%% with every target after monitoring them and before its clock starts, so
%% that the timed part holds no target still recording its monitor (a
%% cost of erlang:monitor/2, not of the downs or demonitors; as in
%% bench/monitors.c).
target() ->
    receive
        {sync, W} -> W ! synced, target();
        stop -> ok
    end.

sync_all(Targets) ->
    Self = self(),
    [P ! {sync, Self} || P <- Targets],
    wait_synced(length(Targets)).

wait_synced(0) -> ok;
wait_synced(K) ->
    receive synced -> wait_synced(K - 1) end.

spawn_targets(N) -> [spawn(fun target/0) || _ <- lists:seq(1, N)].

wait_downs(0) -> ok;
wait_downs(K) ->
    receive {'DOWN', _, process, _, _} -> wait_downs(K - 1) end.

watch_downs(Targets, N, Main) ->
    [erlang:monitor(process, P) || P <- Targets],
    sync_all(Targets),
    T0 = now_s(),
    [P ! stop || P <- Targets],
    wait_downs(N),
    T1 = now_s(),
    Main ! {done, T1 - T0}.

watch_demonitors(Targets, Main) ->
    Refs = [erlang:monitor(process, P) || P <- Targets],
    sync_all(Targets),
    T0 = now_s(),
    [erlang:demonitor(R) || R <- Refs],
    T1 = now_s(),
    [P ! stop || P <- Targets],
    Main ! {done, T1 - T0},
    receive drained -> ok end,
    Stray = stray_downs(0),
    Main ! {stray, Stray}.

stray_downs(K) ->
    receive {'DOWN', _, _, _, _} -> stray_downs(K + 1)
    after 0 -> K
    end.

wait_dead(Pids) ->
    [begin
         R = erlang:monitor(process, P),
         receive {'DOWN', R, process, _, _} -> ok end
     end || P <- Pids],
    ok.

monitors(N) ->
    Main = self(),
    Targets = spawn_targets(N),
    spawn(fun() -> watch_downs(Targets, N, Main) end),
    Secs = receive {done, S} -> S end,
    report_rate("monitors", N, Secs, "downs/s"),
    Targets2 = spawn_targets(N),
    W = spawn(fun() -> watch_demonitors(Targets2, Main) end),
    Secs2 = receive {done, S2} -> S2 end,
    wait_dead(Targets2),
    W ! drained,
    Stray = receive {stray, K} -> K end,
    Stray =:= 0 orelse fail({downs_after_demonitor, Stray}),
    report_rate("demonitors", N, Secs2, "demonitors/s").

%% ---------------------------------------------------------- timers_fire

-define(AHEAD_MS, 3000).
-define(SPREAD_MS, 2000).

%% Timer I goes to element(I rem R + 1, To).
arm(I, N, _To, _R) when I >= N -> ok;
arm(I, N, To, R) ->
    Delay = ?AHEAD_MS + (?SPREAD_MS * I) div N,
    Deadline = erlang:monotonic_time(nanosecond) + Delay * 1000000,
    erlang:send_after(Delay, element(I rem R + 1, To), {tick, I, Deadline}),
    arm(I + 1, N, To, R).

armer(N, Main) ->
    receive
        {arm, To} ->
            T0 = now_s(),
            arm(0, N, To, tuple_size(To)),
            T1 = now_s(),
            Main ! {armed, T1 - T0},
            armer(N, Main);
        stop -> ok
    end.

%% Receiver of Share ticks: timer 0's asks the armer for the second batch
%% (to Next); at the end it reports when it was done and every lateness.
receiver(Share, Main, Armer, Next) ->
    receiver(Share, Main, Armer, Next, 0, []).

receiver(Share, Main, _Armer, _Next, Share, Late) ->
    Main ! {done, erlang:monotonic_time(nanosecond), Late};
receiver(Share, Main, Armer, Next, K, Late) ->
    receive
        {tick, I, Deadline} ->
            Now = erlang:monotonic_time(nanosecond),
            first_tick(I, Armer, Next, Main, Deadline),
            receiver(Share, Main, Armer, Next, K + 1, [Now - Deadline | Late])
    end.

%% Timer 0 is the first batch's first: arm the second, tell Main when it was due.
first_tick(0, Armer, Next, Main, Deadline) ->
    Armer ! {arm, {Next}},
    Main ! {first, Deadline};
first_tick(_, _, _, _, _) -> ok.

sink() -> receive stop -> ok; _ -> sink() end.

timers_fire(N, R0) ->
    R = min(R0, N),
    Main = self(),
    Armer = spawn(fun() -> armer(N, Main) end),
    Second = spawn(fun sink/0),
    Recv = list_to_tuple(
             [spawn(fun() -> receiver(N div R + (case K < N rem R of true -> 1; false -> 0 end),
                                      Main, Armer, Second) end)
              || K <- lists:seq(0, R - 1)]),
    Armer ! {arm, Recv},
    Idle = receive {armed, S} -> S end,
    report_rate("timers_arm_idle", N, Idle, "timers/s"),
    %% arming the second batch may outlast the first's firing: any order
    {Busy, Last, Late} = collect(R, undefined, undefined, []),
    First = receive {first, D} -> D end,
    report_rate("timers_arm", N, Busy, "timers/s"),
    Sorted = list_to_tuple(lists:sort(Late)),
    tuple_size(Sorted) =:= N orelse fail({ticks, tuple_size(Sorted), N}),
    element(1, Sorted) >= 0 orelse fail({early, element(1, Sorted)}),
    Span = (Last - First) / 1.0e9,
    P50 = element(N div 2 + 1, Sorted) / 1000,
    P99 = element(N - N div 100, Sorted) / 1000,
    Max = element(N, Sorted) / 1000,
    io:format("peer=erlang bench=timers_fire n=~b seconds=~.6f rate=~.1f"
              " unit=timers/s p50_us=~.1f p99_us=~.1f max_us=~.1f receivers=~b~n",
              [N, Span, N / Span, P50, P99, Max, R]),
    Second ! stop,
    ok.

%% monotonic_time may be negative: no 0 as "none yet"
later(T, undefined) -> T;
later(T, Last) -> max(T, Last).

collect(0, Busy, Last, Late) when Busy =/= undefined -> {Busy, Last, Late};
collect(Left, Busy, Last, Late) ->
    receive
        {armed, S} when Busy =:= undefined -> collect(Left, S, Last, Late);
        {done, T, L} when Left > 0 ->
            collect(Left - 1, Busy, later(T, Last), L ++ Late)
    end.
