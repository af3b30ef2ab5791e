/* SPDX-License-Identifier: MIT */
/* main.c - kmain: brings the platform up, runs the self-test, hands over to the KD core. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "idt.h"
#include "pic.h"
#include "platform.h"
#include "selftest.h"

#define CONSOLE_BAUD 115200

extern uint8_t __image_start[], __image_end[];
extern uint64_t boot_tsc; /* boot.S: TSC at _start */

static struct boot_info boot_info;
static uint16_t kd_port = COM1_BASE, con_port = COM2_BASE;

uint16_t platform_kd_port(void)
{
	return kd_port;
}

uint16_t platform_console_port(void)
{
	return con_port;
}

const struct boot_info *platform_boot_info(void)
{
	return &boot_info;
}

/* kdport=com1|com2 names the KD serial port; the console takes the other one. */
static void choose_ports(void)
{
	char v[8];

	if (cmdline_get("kdport", v, sizeof(v)) >= 0 && strcmp(v, "com2") == 0) {
		kd_port = COM2_BASE;
		con_port = COM1_BASE;
	}
}

static void print_banner(void)
{
	uint64_t free_start, free_end;

	kprintf("vmkd-target: booted, cmdline=\"%s\", tsc=%lu MHz, accel=%s, init=%lu us\n",
		cmdline_raw(), tsc_hz() / 1000000, cpu_accel_name(), tsc_to_us(rdtsc() - boot_tsc));
	pmm_free_window(&free_start, &free_end);
	kprintf("vmkd-target: KernBase=%#lx image=%#lx-%#lx ram=%lu MiB free=%#lx-%#lx "
		"kdport=com%d console=com%d loader=%s\n",
		(uint64_t)(uintptr_t)__image_start, kva_to_phys(__image_start),
		kva_to_phys(__image_end), pmm_ram_top() >> 20, free_start, free_end,
		kd_port == COM1_BASE ? 1 : 2, con_port == COM1_BASE ? 1 : 2, boot_info.loader);
}

void kmain(uint32_t magic, uint32_t mbi_phys)
{
	char crash[8];
	uint64_t t0;
	int failed;

	/* Traps first, so any mistake below is reported instead of resetting the machine. */
	gdt_init();
	idt_init();
	cpu_init();
	pic_disable();

	if (multiboot_parse(magic, mbi_phys, &boot_info))
		panic("bad multiboot magic %#x", magic);
	cmdline_init(boot_info.cmdline); /* copy before pmm_init may reuse its memory */
	choose_ports();
	uart_init(kd_port, CONSOLE_BAUD);
	uart_init(con_port, CONSOLE_BAUD);
	console_init(con_port);

	pmm_init(&boot_info, kva_to_phys(__image_end));
	paging_init();
	timer_init();
	print_banner();

	if (!cmdline_has("noselftest")) {
		t0 = time_us();
		failed = selftest_run(cmdline_has("verbose"));
		if (failed) {
			kprintf("vmkd-target: selftest FAILED (%d checks)\n", failed);
			target_exit(TARGET_EXIT_FAIL);
		}
		kprintf("vmkd-target: selftest ok (%lu us)\n", time_us() - t0);
	}
	if (cmdline_get("crash", crash, sizeof(crash)) > 0)
		selftest_crash(crash);

	kd_main();

	if (cmdline_has("stay")) {
		kprintf("vmkd-target: idle (stay)\n");
		for (;;)
			halt();
	}
	kprintf("vmkd-target: exit 0\n");
	target_exit(TARGET_EXIT_OK);
}
