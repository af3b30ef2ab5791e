# Shared by the integration scripts that drive a program on a terminal, as a user sits
# at it: a tmux server of its own (socket SOCK) whose only pane runs a command, with
# everything the pane shows appended to a log file.

# tmux_run SOCK SESSION COLUMNS LOG COMMAND: starts the server; sets tmux_pid to its pid.
# COMMAND waits for the log pipe before it runs: output written earlier (the first
# lines of a program, on a loaded machine) would reach the screen but not the log.
tmux_run() {
	local sock=$1 session=$2 cols=$3 log=$4 cmd=$5 go=$4.go
	rm -f "$go"
	tmux -S "$sock" -f /dev/null new-session -d -s "$session" -x "$cols" -y 50 \
		"while [ ! -e '$go' ]; do sleep 0.05; done; $cmd"
	tmux_pid=$(tmux -S "$sock" display-message -p '#{pid}')
	tmux -S "$sock" pipe-pane -t "$session" "cat >>'$log'"
	touch "$go"
}
